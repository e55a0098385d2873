/** A cell's view over a fake anywidget model: it syncs, follows batches, asks again on a gap. */

import { beforeEach, describe, expect, it } from 'vitest';

import cellview, { CellView } from '../src/cellview';

const { render } = cellview;
import { E, FakeModel, fixtures, running } from './helpers';

let el: HTMLElement;

beforeEach(() => {
  el = document.createElement('div');
  document.body.replaceChildren(el);
});

describe('a cell view', () => {
  it('asks for everything when it renders, and says it waits', () => {
    const model = new FakeModel();
    render({ model, el });
    expect(model.sent).toEqual([{ protocol_version: 2, type: 'sync', seen: 0 }]);
    expect(el.textContent).toContain('m1: waiting for the kernel…');
  });

  it('draws the batches, skips what it saw, and asks again from a gap', () => {
    const model = new FakeModel();
    const view = new CellView(model, el);
    const events = [...running('m1'), E.text('m1', 'Hello'), E.text('m1', ' there')];
    model.events(0, events.slice(0, 5));
    expect(el.querySelector('.collet-answer')?.textContent).toBe('Hello\n');
    model.events(2, events.slice(2, 5)); // a second view asked again: all seen
    expect(view.conversation.seen).toBe(5);
    model.events(7, [E.text('m1', '!')]); // 5 and 6 went missing
    expect(model.sent.at(-1)).toEqual({ protocol_version: 2, type: 'sync', seen: 5 });
    model.events(9, [E.text('m1', '?')]);
    expect(model.sent.filter(m => m.type === 'sync')).toHaveLength(2); // asked once
    model.events(5, [E.text('m1', ' there'), E.state('m1', 'answered'), E.text('m1', '!')]);
    expect(view.conversation.seen).toBe(8);
    expect(el.querySelector('.collet-answer')?.textContent).toBe('Hello there!\n');
  });

  it('sends buttons as action requests and shows a failed reply', async () => {
    const model = new FakeModel();
    render({ model, el });
    model.events(0, [
      ...running('m1'),
      E.tool('m1', 'c1', 'bash'),
      E.ask('m1', 'c1', 'bash'),
      E.status('m1', 'awaiting_approval')
    ]);
    [...el.querySelectorAll('button')].find(b => b.textContent === 'Allow for session')?.click();
    const request = model.sent.at(-1);
    expect(request).toMatchObject({
      protocol_version: 2,
      type: 'action',
      action: 'allow_session',
      message_id: 'm1',
      call_id: 'c1'
    });
    if (request?.type !== 'action') {
      throw new Error('no action sent');
    }
    model.emit({
      protocol_version: 2,
      type: 'reply',
      request_id: request.request_id,
      ok: false,
      text: 'no such call'
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(el.querySelector('.collet-tool .collet-reply')?.textContent).toBe('no such call');
  });

  it('keeps the request ids of two views of one widget apart', () => {
    const model = new FakeModel();
    const other = document.createElement('div');
    render({ model, el });
    render({ model, el: other });
    model.events(0, [...running('m1')]);
    el.querySelector<HTMLButtonElement>('.collet-head button')?.click();
    other.querySelector<HTMLButtonElement>('.collet-head button')?.click();
    const ids = model.sent.flatMap(m => (m.type === 'action' ? [m.request_id] : []));
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
  });

  it('says what it cannot read, and refuses a widget of another protocol version', () => {
    const model = new FakeModel();
    render({ model, el });
    model.emit({
      protocol_version: 2,
      type: 'events',
      start: 0,
      events: [{ type: 'text_delta', message_id: 'm1' }]
    });
    expect(el.querySelector('.collet-problem')?.textContent).toContain(
      'field "text" should be a string'
    );
    const old = new FakeModel({ message_id: 'm1', protocol_version: 1 });
    const elsewhere = document.createElement('div');
    render({ model: old, el: elsewhere });
    expect(old.sent).toEqual([]);
    expect(elsewhere.textContent).toContain('speaks protocol 1');
  });

  it('stops listening when it is removed', () => {
    const model = new FakeModel();
    const cleanup = render({ model, el });
    expect(model.handlers.size).toBe(1);
    cleanup();
    expect(model.handlers.size).toBe(0);
  });

  it('shows the whole session, with its settings, when it follows no one message', () => {
    const model = new FakeModel({ message_id: '', protocol_version: 2 });
    render({ model, el });
    const [, fixture] = fixtures().find(([name]) => name === 'handmade_tool_approval.json') ?? [];
    model.events(0, fixture?.events ?? []);
    expect(el.querySelectorAll('.collet-message')).toHaveLength(3);
    expect(el.querySelector('.collet-session')?.textContent).toBe(
      'agent code · model demo · provider function · approval ask'
    );
  });
});
