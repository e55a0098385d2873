/** Reading what the kernel sends: clear problems for what cannot be read, never a throw. */

import { describe, expect, it } from 'vitest';

import {
  PROTOCOL_VERSION,
  ProtocolProblem,
  actionRequest,
  readKernelMessage
} from '../src/protocol';
import { money } from '../src/render/words';

function events(...list: unknown[]): unknown {
  return { protocol_version: PROTOCOL_VERSION, type: 'events', start: 0, events: list };
}

function problem(data: unknown): string {
  const msg = readKernelMessage(data);
  if (!(msg instanceof ProtocolProblem)) {
    throw new Error(`expected a problem, got ${JSON.stringify(msg)}`);
  }
  return msg.reason;
}

describe('readKernelMessage', () => {
  it('refuses another protocol version, saying what to do', () => {
    expect(problem({ protocol_version: 1, type: 'events', start: 0, events: [] })).toMatch(
      /speaks protocol 1 and this page speaks 2: install matching versions/
    );
  });

  it('refuses what is not an object and unknown message types', () => {
    expect(problem('hi')).toMatch(/not a JSON object/);
    expect(problem({ protocol_version: 2, type: 'event', event: {} })).toMatch(
      /unknown message type "event"/
    );
  });

  it('names the event and the field it cannot read', () => {
    const bad = {
      type: 'tool_result',
      message_id: 'm1',
      call_id: 'c',
      name: 'n',
      content: 3,
      is_error: false,
      duration_s: 0
    };
    expect(problem(events(bad))).toMatch(
      /event 0 \(tool_result\): field "content" should be a string, not a number/
    );
    expect(problem({ protocol_version: 2, type: 'events', start: -1, events: [] })).toMatch(
      /"start"/
    );
    expect(
      problem(
        events({
          type: 'message_status',
          message_id: 'm1',
          status: 'sleeping',
          error: null,
          retried_by: ''
        })
      )
    ).toMatch(/"status" should be one of queued, running, awaiting_approval/);
    expect(
      problem(
        events({
          type: 'tool_call',
          message_id: 'm1',
          call_id: 'c',
          name: 'n',
          arguments: '{}',
          preview: { kind: 'teleport' }
        })
      )
    ).toMatch(/unknown kind "teleport"/);
  });

  it('reads an empty preview as none, and keeps unknown event types in their place', () => {
    const msg = readKernelMessage(
      events(
        {
          type: 'tool_call',
          message_id: 'm1',
          call_id: 'c',
          name: 'n',
          arguments: 'x',
          preview: {}
        },
        { type: 'sparkles', message_id: 'm1' }
      )
    );
    expect(msg).toEqual({
      protocol_version: 2,
      type: 'events',
      start: 0,
      events: [
        {
          type: 'tool_call',
          message_id: 'm1',
          call_id: 'c',
          name: 'n',
          arguments: 'x',
          preview: null
        },
        { type: 'unknown', original: 'sparkles', message_id: 'm1' }
      ]
    });
  });

  it('reads an args preview holding raw text', () => {
    const msg = readKernelMessage(
      events({
        type: 'approval_requested',
        message_id: 'm1',
        call_id: 'c',
        name: 'n',
        arguments: 'not json',
        preview: { kind: 'args', arguments: 'not json' }
      })
    );
    expect(msg).toMatchObject({ events: [{ preview: { kind: 'args', arguments: 'not json' } }] });
  });

  it('reads replies, snapshots and transcripts', () => {
    expect(
      readKernelMessage({
        protocol_version: 2,
        type: 'reply',
        request_id: 'r1',
        ok: true,
        text: 'allowed'
      })
    ).toEqual({
      protocol_version: 2,
      type: 'reply',
      request_id: 'r1',
      ok: true,
      text: 'allowed'
    });
    const status = readKernelMessage({
      protocol_version: 2,
      type: 'status',
      status: {
        session_id: 's',
        state: 'running',
        messages: [{ id: 'm1', text: 't', state: 'answered', status: 'awaiting_plan', error: null }]
      }
    });
    expect(status).toMatchObject({
      status: { state: 'running', messages: [{ id: 'm1', status: 'awaiting_plan' }] }
    });
    expect(
      readKernelMessage({
        protocol_version: 2,
        type: 'transcript',
        message_id: 'm1',
        markdown: '**m1**'
      })
    ).toMatchObject({
      type: 'transcript',
      message_id: 'm1'
    });
  });
});

describe('cost', () => {
  const status = (extra: object): unknown =>
    events({
      type: 'status',
      message_id: 'm1',
      iteration: 1,
      prompt_tokens: 1,
      completion_tokens: 1,
      context_used: 1,
      context_budget: 2,
      ...extra
    });

  it('reads a status without a price (an older kernel, an unpriced model) as unknown', () => {
    for (const extra of [{}, { cost_usd: null }]) {
      const msg = readKernelMessage(status(extra));
      expect(msg).not.toBeInstanceOf(ProtocolProblem);
      expect(msg).toMatchObject({ events: [{ cost_usd: null }] });
    }
    expect(readKernelMessage(status({ cost_usd: 0.25 }))).toMatchObject({
      events: [{ cost_usd: 0.25 }]
    });
    expect(problem(status({ cost_usd: 'cheap' }))).toMatch(/"cost_usd" should be a number or null/);
  });

  it('shows cents to four places and dollars to two', () => {
    expect(money(0.00421)).toBe('$0.0042');
    expect(money(12.5)).toBe('$12.50');
  });
});

describe('actionRequest', () => {
  it('carries the call id and a text only when there is one', () => {
    expect(actionRequest('r1', 'deny', 'm1', { call_id: 'c1', text: 'no' })).toEqual({
      protocol_version: 2,
      type: 'action',
      request_id: 'r1',
      action: 'deny',
      message_id: 'm1',
      call_id: 'c1',
      text: 'no'
    });
    expect(actionRequest('r2', 'cancel', 'm1', { text: '' })).toEqual({
      protocol_version: 2,
      type: 'action',
      request_id: 'r2',
      action: 'cancel',
      message_id: 'm1'
    });
  });
});
