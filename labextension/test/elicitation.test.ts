/** What an MCP server asks: a form from its fields, Accept / Decline / Cancel, the answer after;
 * and a sampling request's card. */

import { beforeEach, describe, expect, it } from 'vitest';

import { Conversation } from '../src/conversation';
import type { Event, FormField, Preview } from '../src/protocol';
import { PROTOCOL_VERSION, ProtocolProblem, readKernelMessage } from '../src/protocol';
import { ConversationView } from '../src/render/view';
import { E, RecordingActions, buttons, feed, running, texts } from './helpers';

let actions: RecordingActions;

beforeEach(() => {
  actions = new RecordingActions();
  document.body.replaceChildren();
});

function field(name: string, type: FormField['type'], extra: Partial<FormField> = {}): FormField {
  return {
    name,
    type,
    title: '',
    description: '',
    required: false,
    default: null,
    options: [],
    format: '',
    minimum: null,
    maximum: null,
    ...extra
  };
}

const FIELDS: FormField[] = [
  field('name', 'string', { title: 'Name', required: true, description: 'Your name' }),
  field('age', 'integer', { title: 'Age', default: 30, minimum: 0, maximum: 150 }),
  field('colour', 'choice', {
    default: 'green',
    options: [
      { value: 'red', label: 'Red' },
      { value: 'green', label: 'Green' }
    ]
  }),
  field('subscribe', 'boolean', { default: false }),
  field('tags', 'choices', {
    default: ['a'],
    options: [
      { value: 'a', label: 'Alpha' },
      { value: 'b', label: 'Beta' }
    ]
  })
];

function asked(mode = 'form', url = ''): Event {
  return {
    type: 'elicitation_requested',
    message_id: 'm1',
    elicitation_id: 'e1',
    server: 'people',
    message: 'Who is asking?',
    mode,
    url,
    fields: mode === 'form' ? FIELDS : []
  };
}

function answered(action: 'accept' | 'decline' | 'cancel', content = '', by = 'button'): Event {
  return {
    type: 'elicitation_resolved',
    message_id: 'm1',
    elicitation_id: 'e1',
    action,
    content,
    by,
    at: 0,
    server: 'people'
  };
}

function draw(conversation: Conversation): HTMLElement {
  const view = new ConversationView(conversation, actions);
  view.update();
  document.body.append(view.node);
  return view.node;
}

function one(root: ParentNode, selector: string): HTMLElement {
  const found = root.querySelector<HTMLElement>(selector);
  if (found === null) {
    throw new Error(`nothing matches ${selector}`);
  }
  return found;
}

function input(root: ParentNode, selector: string): HTMLInputElement {
  const found = one(root, selector);
  if (!(found instanceof HTMLInputElement)) {
    throw new Error(`${selector} is not an input`);
  }
  return found;
}

function select(root: ParentNode, selector: string): HTMLSelectElement {
  const found = one(root, selector);
  if (!(found instanceof HTMLSelectElement)) {
    throw new Error(`${selector} is not a select`);
  }
  return found;
}

function anchor(root: ParentNode, selector: string): HTMLAnchorElement {
  const found = one(root, selector);
  if (!(found instanceof HTMLAnchorElement)) {
    throw new Error(`${selector} is not a link`);
  }
  return found;
}

function click(root: ParentNode, label: string): void {
  const found = [...root.querySelectorAll('button')].find(b => b.textContent === label);
  if (found === undefined) {
    throw new Error(`no button ${label}`);
  }
  found.click();
}

describe('a server asking the person', () => {
  function waiting(): Conversation {
    return feed(new Conversation(), ...running('m1'), asked(), E.status('m1', 'awaiting_input'));
  }

  it('shows a form of its fields with the defaults filled in, and is what waits', () => {
    const c = waiting();
    const root = draw(c);
    const card = one(root, '.collet-elicitation');
    expect(card.dataset.state).toBe('pending');
    expect(one(card, '.collet-elicit-message').textContent).toBe('Who is asking?');
    expect(texts(card, '.collet-field-label')).toEqual([
      'Name *',
      'Age',
      'colour',
      'subscribe',
      'tags'
    ]);
    expect(input(card, '[data-field="age"] input').value).toBe('30');
    expect(select(card, '[data-field="colour"] select').value).toBe('green');
    expect(one(card, '[data-field="age"] .collet-hint').textContent).toBe('0 to 150');
    expect(buttons(card)).toEqual(['Accept', 'Decline', 'Cancel']);
    expect(one(root, '.collet-pill').textContent).toBe('awaiting input');
    expect(c.attention.map(a => a.kind)).toEqual(['elicitation']);
  });

  it('sends what was typed (fields left empty are left out) and the defaults as shown', () => {
    const root = draw(waiting());
    input(root, '[data-field="name"] input').value = 'Ada';
    input(root, '[data-field="subscribe"] input').checked = true;
    click(root, 'Accept');
    expect(actions.calls).toEqual([
      [
        'elicit',
        'm1',
        'e1',
        'answer',
        JSON.stringify({ name: 'Ada', age: 30, colour: 'green', subscribe: true, tags: ['a'] })
      ]
    ]);
  });

  it('says what the kernel wants fixed, and lets the person send again', async () => {
    const root = draw(waiting());
    actions.reply = {
      ok: false,
      text: 'the answer needs fixing (nothing was sent): name: required'
    };
    click(root, 'Accept');
    await Promise.resolve();
    await Promise.resolve();
    expect(one(root, '.collet-elicitation .collet-reply').textContent).toMatch(/name: required/);
    expect(
      [...root.querySelectorAll<HTMLButtonElement>('.collet-elicitation button')].every(
        b => !b.disabled
      )
    ).toBe(true);
  });

  it('declines and cancels with no content', () => {
    const root = draw(waiting());
    click(root, 'Decline');
    const again = draw(waiting());
    click(one(again, '.collet-elicitation'), 'Cancel'); // the form's, not the message's
    expect(actions.calls).toEqual([
      ['elicit', 'm1', 'e1', 'decline', ''],
      ['elicit', 'm1', 'e1', 'dismiss', '']
    ]);
  });

  it('once answered, says how, by whom and what was sent, with no buttons', () => {
    const c = feed(waiting(), answered('accept', '{"name":"Ada","age":30}', 'sidebar'));
    const root = draw(c);
    const card = one(root, '.collet-elicitation');
    expect(card.dataset.state).toBe('accept');
    expect(one(card, '.collet-decision').textContent).toBe('answered by sidebar');
    expect(texts(card, '.collet-kv th')).toEqual(['name', 'age']);
    expect(buttons(card)).toEqual([]);
    expect(c.attention).toEqual([]);
  });

  it('closes when its message ends without an answer event', () => {
    const c = feed(waiting(), E.state('m1', 'cancelled'), E.status('m1', 'cancelled'));
    const root = draw(c);
    expect(buttons(one(root, '.collet-elicitation'))).toEqual([]);
    expect(one(root, '.collet-elicitation .collet-hint').textContent).toMatch(/not answered/);
    expect(c.attention).toEqual([]);
  });

  it('shows a link to open, never as a script', () => {
    const link = feed(new Conversation(), ...running('m1'), asked('url', 'https://example.org/x'));
    const root = draw(link);
    const shown = anchor(root, '.collet-elicit-url a');
    expect(shown.href).toBe('https://example.org/x');
    expect(shown.rel).toBe('noopener noreferrer');
    document.body.replaceChildren();
    const bad = feed(new Conversation(), ...running('m1'), asked('url', 'javascript:alert(1)'));
    expect(draw(bad).querySelector('a')).toBeNull();
  });

  it('is read strictly from the wire: a field of an unknown type is a problem', () => {
    const wire = (fields: unknown): unknown => ({
      protocol_version: PROTOCOL_VERSION,
      type: 'events',
      start: 0,
      events: [{ ...asked(), fields }]
    });
    const ok = readKernelMessage(wire(FIELDS));
    expect(ok).not.toBeInstanceOf(ProtocolProblem);
    const bad = readKernelMessage(wire([{ ...FIELDS[0], type: 'colour' }]));
    expect(bad).toBeInstanceOf(ProtocolProblem);
    expect((bad as ProtocolProblem).reason).toMatch(/"type" should be one of string, number/);
  });
});

describe('a server asking the model (sampling)', () => {
  const SAMPLING: Preview = {
    kind: 'sampling',
    server: 'people',
    system_prompt: 'You write one-line summaries.',
    messages: [{ role: 'user', text: 'Summarize: the cat sat' }],
    max_tokens: 40,
    model: 'fake-model'
  };

  it('asks to let the server use the model, showing its prompt and cap', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.tool('m1', 'sampling-1', 'sampling:people', SAMPLING),
      E.ask('m1', 'sampling-1', 'sampling:people', SAMPLING),
      E.status('m1', 'awaiting_approval')
    );
    const root = draw(c);
    const card = one(root, '.collet-tool');
    expect(one(card, '.collet-tool-summary').textContent).toBe('MCP server people asks the model');
    expect(texts(card, '.collet-sample-msg .collet-label')).toEqual(['system prompt', 'user']);
    expect(texts(card, '.collet-sample-msg pre')).toContain('Summarize: the cat sat');
    expect(one(card, '.collet-ask').textContent).toBe(
      'Let MCP server people use the model (up to 40 tokens)?'
    );
    expect(card.textContent).toMatch(/answered by fake-model/);
  });
});
