/**
 * The golden fixtures (real runs, generated from Python; one hand-made) replay into the model
 * and the renderer: every event is read, each message ends with the status the kernel's own
 * snapshot gives, whatever the batching, and the cards say what happened.
 */

import { describe, expect, it } from 'vitest';

import { answerOf, planOf, toolsOf } from '../src/conversation';
import type { Conversation, Message } from '../src/conversation';
import { EVENT_TYPES } from './eventTypes';
import { ConversationView } from '../src/render/view';
import { canCancel, canRetry, decisionLine, planLine, statusWord } from '../src/render/words';
import { RecordingActions, buttons, fixtures, readBatch, replay, texts } from './helpers';

const FIXTURES = fixtures();

/** A model's messages as plain data (revs aside), to compare two replays. */
function picture(conversation: Conversation): unknown {
  return JSON.parse(
    JSON.stringify(conversation.messages, (key, value: unknown) =>
      key === 'rev' ? undefined : value
    )
  ) as unknown;
}

function render(conversation: Conversation): HTMLElement {
  const view = new ConversationView(conversation, new RecordingActions());
  view.update();
  document.body.replaceChildren(view.node);
  return view.node;
}

function node(root: HTMLElement, message: Message): HTMLElement {
  const found = root.querySelector<HTMLElement>(`.collet-message[data-message-id="${message.id}"]`);
  if (found === null) {
    throw new Error(`no element for ${message.id}`);
  }
  return found;
}

describe('golden fixtures', () => {
  it('include the hand-made one and at least one generated from Python', () => {
    const names = FIXTURES.map(([name]) => name);
    expect(names).toContain('handmade_tool_approval.json');
    expect(names.length).toBeGreaterThan(1);
  });

  describe.each(FIXTURES)('%s', (_name, fixture) => {
    it('has only event types this front end knows', () => {
      const read = readBatch(0, fixture.events);
      expect(read).toHaveLength(fixture.events.length);
      const unknown = read.filter(e => e.type === 'unknown');
      expect(unknown).toEqual([]);
      for (const event of read) {
        expect(EVENT_TYPES).toContain(event.type);
      }
    });

    it('ends each message with the status and text of the kernel snapshot', () => {
      const conversation = replay(fixture.events);
      expect(conversation.unknownTypes.size).toBe(0);
      expect(conversation.seen).toBe(fixture.events.length);
      expect(conversation.messages.map(m => m.id)).toEqual(fixture.status.messages.map(m => m.id));
      for (const expected of fixture.status.messages) {
        const message = conversation.message(expected.id);
        expect(message?.status, expected.id).toBe(expected.status);
        expect(message?.text, expected.id).toBe(expected.text);
        expect(message?.error ?? null, expected.id).toBe(expected.error);
      }
    });

    it('gives the same model in batches of any size, and with overlapping batches', () => {
      const whole = picture(replay(fixture.events));
      for (const sizes of [[1], [2, 3], [5, 1, 4], [7]]) {
        expect(picture(replay(fixture.events, sizes)), `sizes ${sizes.join(',')}`).toEqual(whole);
      }
      // Each batch repeats the last 3 events of the one before: the overlap is skipped.
      expect(picture(replay(fixture.events, [4, 2, 6], 3))).toEqual(whole);
      // A batch sent twice changes nothing.
      const twice = replay(fixture.events, [fixture.events.length], fixture.events.length);
      expect(picture(twice)).toEqual(whole);
    });

    it('renders each message with its status pill, cards and decisions', () => {
      const conversation = replay(fixture.events, [3]);
      const root = render(conversation);
      for (const message of conversation.messages) {
        const el = node(root, message);
        expect(el.querySelector('.collet-pill')?.textContent).toBe(statusWord(message.status));
        expect(el.querySelector('.collet-user')?.textContent).toBe(message.text);
        const cards = [...el.querySelectorAll<HTMLElement>('.collet-tool')];
        const tools = toolsOf(message);
        expect(cards).toHaveLength(tools.length);
        tools.forEach((tool, i) => {
          const card = cards[i];
          if (card === undefined) {
            throw new Error('missing card');
          }
          const head = card.querySelector('.collet-tool-head')?.textContent ?? '';
          expect(head).toContain(tool.name);
          if (tool.preview?.kind === 'file_write') {
            expect(head).toContain(tool.preview.exists ? 'overwrites' : 'creates');
            expect(head).toContain(tool.preview.path);
          }
          if (tool.preview?.kind === 'file_edit') {
            expect(head).toContain(`edits ${tool.preview.path}`);
          }
          if (tool.approval !== null && !tool.approval.pending) {
            const line = card.querySelector('.collet-decision')?.textContent;
            expect(line).toBe(decisionLine(tool.approval));
            expect(line).not.toContain('?');
            expect(card.querySelectorAll('button')).toHaveLength(0);
          }
          // Names, never call ids.
          expect(head).not.toContain(tool.callId);
          expect(texts(card, '.collet-decision').join('')).not.toContain(tool.callId);
        });
        const plan = planOf(message);
        if (plan?.decision) {
          expect(el.querySelector('.collet-plan .collet-decision')?.textContent).toBe(
            planLine(plan.decision)
          );
        }
        const labels = buttons(el.querySelector('.collet-head') ?? el);
        expect(labels.includes('Cancel'), `${message.id} Cancel`).toBe(canCancel(message));
        expect(labels.includes('Retry'), `${message.id} Retry`).toBe(canRetry(message));
        const answer = answerOf(message);
        if (answer !== '' && plan === null) {
          expect(el.querySelector('.collet-answer')).not.toBeNull();
        }
      }
    });
  });
});

describe('the hand-made fixture', () => {
  const fixture = FIXTURES.find(([name]) => name === 'handmade_tool_approval.json')?.[1];
  if (fixture === undefined) {
    throw new Error('handmade_tool_approval.json is missing');
  }
  const conversation = replay(fixture.events, [2]);
  const root = render(conversation);

  it('shows the overwrite with its diff and the decision at the call, in local time', () => {
    const m1 = root.querySelector<HTMLElement>('[data-message-id="m1"]');
    const card = m1?.querySelector<HTMLElement>('.collet-tool');
    expect(card?.dataset.stage).toBe('done');
    expect(card?.querySelector('.collet-tool-head')?.textContent).toContain(
      'overwrites app.py (+2 −2)'
    );
    expect(card?.querySelectorAll('.collet-diff-add')).toHaveLength(2);
    expect(card?.querySelectorAll('.collet-diff-del')).toHaveLength(2);
    expect(card?.querySelector('.collet-decision')?.textContent).toBe(
      'allowed once by button at 14:02'
    );
    expect(card?.querySelector('.collet-result')?.textContent).toContain(
      'wrote 52 bytes to app.py'
    );
  });

  it('keeps the answer around the call in the order it streamed', () => {
    const items = [...(root.querySelector('[data-message-id="m1"] .collet-items')?.children ?? [])];
    const kinds = items.map(item => item.className.split(' ')[0]);
    expect(kinds).toEqual(['collet-reasoning', 'collet-answer', 'collet-tool', 'collet-answer']);
    expect(items[1]?.textContent).toContain("I'll rewrite app.py with the new name.");
  });

  it('says the failed message was retried, and offers no Retry for it', () => {
    const m2 = root.querySelector<HTMLElement>('[data-message-id="m2"]');
    expect(m2?.querySelector('.collet-ending')?.textContent).toBe(
      'm2 failed: ProviderHTTPError: the provider answered 503 (overloaded) — retried as m3'
    );
    expect(buttons(m2 ?? root)).toEqual([]);
  });

  it('keeps the session settings', () => {
    expect(conversation.session?.approval).toBe('ask');
  });
});
