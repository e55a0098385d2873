/** The conversation model: numbering, statuses, the order of items, approvals, plans. */

import { describe, expect, it } from 'vitest';

import { Conversation, answerOf, planOf, reasoningOf, toolsOf } from '../src/conversation';
import type { Preview } from '../src/protocol';
import { E, feed, running } from './helpers';

const WRITE: Preview = {
  kind: 'file_write',
  path: 'a.py',
  exists: false,
  language: 'python',
  size: 3,
  content: 'x=1',
  truncated: false,
  diff: ''
};

describe('numbered batches', () => {
  it('skip what overlaps with what was seen and apply the rest', () => {
    const c = new Conversation();
    const events = [...running('m1'), E.text('m1', 'a'), E.text('m1', 'b')];
    expect(c.applyBatch(0, events.slice(0, 5))).toEqual({
      applied: 5,
      skipped: 0,
      gap: false,
      seen: 5
    });
    expect(c.applyBatch(3, events.slice(3))).toEqual({
      applied: 1,
      skipped: 2,
      gap: false,
      seen: 6
    });
    expect(answerOf(c.message('m1') ?? fail())).toBe('ab');
  });

  it('report a gap and apply nothing when events before the batch are missing', () => {
    const c = feed(new Conversation(), ...running('m1'));
    const before = c.revision;
    expect(c.applyBatch(6, [E.text('m1', 'late')])).toEqual({
      applied: 0,
      skipped: 0,
      gap: true,
      seen: 4
    });
    expect(c.revision).toBe(before);
    expect(answerOf(c.message('m1') ?? fail())).toBe('');
  });

  it('count unknown event types in the numbering, and remember them', () => {
    const c = new Conversation();
    c.applyBatch(0, [
      { type: 'unknown', original: 'sparkles', message_id: 'm1' },
      E.state('m1', 'queued', 'hi')
    ]);
    expect(c.seen).toBe(2);
    expect([...c.unknownTypes]).toEqual(['sparkles']);
  });

  it('start from nothing after a reset', () => {
    const c = feed(new Conversation(), ...running('m1'));
    const epoch = c.epoch;
    c.reset();
    expect(c.seen).toBe(0);
    expect(c.messages).toEqual([]);
    expect(c.epoch).toBe(epoch + 1);
  });
});

describe('a message status', () => {
  it('comes from message_status, and from message_state only before the first one', () => {
    const c = feed(new Conversation(), E.state('m1', 'queued', 'plan it'));
    expect(c.message('m1')?.status).toBe('queued');
    feed(c, E.state('m1', 'running'));
    expect(c.message('m1')?.status).toBe('running');
    feed(c, E.status('m1', 'awaiting_plan'), E.state('m1', 'answered'));
    expect(c.message('m1')?.status).toBe('awaiting_plan'); // the runtime's word stands
    expect(c.message('m1')?.text).toBe('plan it'); // later moves carry no text
  });

  it('carries retried_by and the error', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.status('m1', 'failed', '', 'boom'),
      E.status('m1', 'failed', 'm2', 'boom')
    );
    expect(c.message('m1')).toMatchObject({ status: 'failed', error: 'boom', retriedBy: 'm2' });
  });
});

describe('items', () => {
  it('interleave answer text and tool cards in the order they happened', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.reasoning('m1', 'hm'),
      E.text('m1', 'first '),
      E.text('m1', 'part'),
      E.tool('m1', 'c1', 'file_write', WRITE),
      E.result('m1', 'c1', 'ok'),
      E.text('m1', 'after')
    );
    const m = c.message('m1') ?? fail();
    expect(m.items.map(i => i.kind)).toEqual(['reasoning', 'answer', 'tool', 'answer']);
    expect(answerOf(m)).toBe('first partafter');
    expect(reasoningOf(m)).toBe('hm');
  });

  it('keep an approval at its tool card, with who decided and when', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.tool('m1', 'c1', 'file_write', WRITE),
      E.ask('m1', 'c1', 'file_write', WRITE)
    );
    expect(c.attention).toMatchObject([
      { kind: 'approval', messageId: 'm1', callId: 'c1', name: 'file_write' }
    ]);
    feed(
      c,
      E.decide('m1', 'c1', 'deny', 'sidebar', 1_700_000_000, 'not now'),
      E.result('m1', 'c1', 'denied', true)
    );
    const [card] = toolsOf(c.message('m1') ?? fail());
    expect(card?.approval).toEqual({
      pending: false,
      decision: 'deny',
      by: 'sidebar',
      at: 1_700_000_000,
      reason: 'not now'
    });
    expect(card?.result?.is_error).toBe(true);
    expect(c.attention).toEqual([]);
    expect(toolsOf(c.message('m1') ?? fail())).toHaveLength(1);
  });

  it('give a repeated call id its own card once the first one has run', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.tool('m1', 'demo_0', 'bash'),
      E.result('m1', 'demo_0', 'one'),
      E.tool('m1', 'demo_0', 'bash'),
      E.result('m1', 'demo_0', 'two')
    );
    expect(toolsOf(c.message('m1') ?? fail()).map(t => t.result?.content)).toEqual(['one', 'two']);
  });

  it('drop what streamed since the last call on answer_reset, and say so', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', 'kept'),
      E.tool('m1', 'c1', 'bash'),
      E.reasoning('m1', 'thinking'),
      E.text('m1', 'half an ans'),
      E.reset('m1', 'the stream broke'),
      E.text('m1', 'whole answer')
    );
    const m = c.message('m1') ?? fail();
    expect(answerOf(m)).toBe('keptwhole answer');
    expect(reasoningOf(m)).toBe('');
    expect(m.items.map(i => i.kind)).toEqual(['answer', 'tool', 'note', 'answer']);
  });
});

describe('a plan', () => {
  it('waits where it was made, once, however often it is announced', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', '## Plan'),
      E.plan('m1', '## Plan')
    );
    feed(c, E.status('m1', 'awaiting_plan'), E.plan('m1', '## Plan'));
    const m = c.message('m1') ?? fail();
    expect(m.items.filter(i => i.kind === 'plan')).toHaveLength(1);
    expect(c.attention).toMatchObject([{ kind: 'plan', messageId: 'm1' }]);
    feed(c, E.planResolved('m1', true, 'm2', 'short', 'button', 5));
    expect(planOf(m)).toMatchObject({
      pending: false,
      decision: { approved: true, note: 'short', by: 'button', at: 5, follow_up: 'm2' }
    });
    expect(c.attention).toEqual([]);
  });
});

describe('the session', () => {
  it('keeps its settings, counters, phase and notes apart from the messages', () => {
    const c = feed(
      new Conversation(),
      {
        type: 'session',
        message_id: '',
        agent: 'ask',
        provider: 'p',
        model: 'mod',
        approval: 'auto',
        streaming: 'full',
        workspace: 'project'
      },
      { type: 'notice', message_id: '', text: 'MCP server git did not start', level: 'warning' },
      ...running('m1'),
      E.phase('m1', 'thinking'),
      {
        type: 'status',
        message_id: 'm1',
        iteration: 2,
        prompt_tokens: 5,
        completion_tokens: 6,
        context_used: 7,
        context_budget: 8,
        cost_usd: 0.0123
      }
    );
    expect(c.session?.agent).toBe('ask');
    expect(c.notes.map(n => n.text)).toEqual(['MCP server git did not start']);
    expect(c.phase).toBe('thinking');
    expect(c.counters?.iteration).toBe(2);
    expect(c.message('m1')?.counters?.context_used).toBe(7);
    expect(c.counters?.cost_usd).toBe(0.0123);
    expect(c.messages.map(m => m.id)).toEqual(['m1']);
    feed(c, E.phase('m1', 'idle'));
    expect(c.phase).toBe('');
  });
});

function fail(): never {
  throw new Error('missing');
}
