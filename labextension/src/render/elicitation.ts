/**
 * What an MCP server asks the person (`elicitation/create`): a small form made from the
 * requested schema's fields (text, numbers, a checkbox, one or several choices; titles,
 * descriptions and limits shown, defaults filled in), or a link to open, with Accept, Decline
 * and Cancel. Nothing reaches the server until one is pressed; the kernel checks the answer
 * and says what to fix. Once answered, the card says how, by whom and when, and what was sent.
 */

import type { ElicitationCard, Message } from '../conversation';
import { asking } from '../conversation';
import type { FormField, JsonValue } from '../protocol';
import type { Actions, ElicitationActionName } from './actions';
import { box, button, h } from './dom';
import { argsTable } from './tools';
import { answerLine } from './words';

/** One input of the form: its element, and how to read its value (undefined: left out). */
interface Input {
  node: HTMLElement;
  read: () => JsonValue | undefined;
}

let uid = 0;

/** A fresh id for a label's `for` (ids must be unique in the page: cells and the sidebar). */
function nextId(): string {
  uid += 1;
  return `collet-field-${uid}`;
}

function defaultText(field: FormField): string {
  const value = field.default;
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function stringInput(field: FormField, id: string): Input {
  const input = h('input', 'field-input');
  input.id = id;
  input.type =
    field.format === 'email'
      ? 'email'
      : field.format === 'uri'
        ? 'url'
        : field.format === 'date'
          ? 'date'
          : field.format === 'date-time'
            ? 'datetime-local'
            : 'text';
  input.value = defaultText(field);
  if (field.maximum !== null) {
    input.maxLength = field.maximum;
  }
  input.required = field.required;
  return { node: input, read: () => (input.value === '' ? undefined : input.value) };
}

function numberInput(field: FormField, id: string): Input {
  const input = h('input', 'field-input');
  input.id = id;
  input.type = 'number';
  input.step = field.type === 'integer' ? '1' : 'any';
  if (field.minimum !== null) {
    input.min = String(field.minimum);
  }
  if (field.maximum !== null) {
    input.max = String(field.maximum);
  }
  input.value = defaultText(field);
  input.required = field.required;
  return {
    node: input,
    read: () => {
      const text = input.value.trim();
      if (text === '') {
        return undefined;
      }
      const value = Number(text);
      return Number.isFinite(value) ? value : text; // the kernel says what is wrong
    }
  };
}

function booleanInput(field: FormField, id: string): Input {
  const input = h('input', 'field-check');
  input.id = id;
  input.type = 'checkbox';
  input.checked = field.default === true;
  return { node: input, read: () => input.checked };
}

function choiceInput(field: FormField, id: string): Input {
  const select = h('select', 'field-input');
  select.id = id;
  const chosen = defaultText(field);
  if (chosen === '') {
    const none = document.createElement('option');
    none.value = '';
    none.textContent = field.required ? '— choose —' : '(none)';
    select.append(none);
  }
  for (const option of field.options) {
    const node = document.createElement('option');
    node.value = option.value;
    node.textContent = option.label;
    select.append(node);
  }
  select.value = chosen;
  return { node: select, read: () => (select.value === '' ? undefined : select.value) };
}

function choicesInput(field: FormField, id: string): Input {
  const chosen = new Set(
    Array.isArray(field.default) ? field.default.filter(v => typeof v === 'string') : []
  );
  const group = h('div', 'field-choices');
  group.id = id;
  group.setAttribute('role', 'group');
  const boxes: HTMLInputElement[] = [];
  for (const option of field.options) {
    const check = h('input', 'field-check');
    check.type = 'checkbox';
    check.value = option.value;
    check.checked = chosen.has(option.value);
    boxes.push(check);
    group.append(box('label', 'field-choice', [check, ` ${option.label}`]));
  }
  return {
    node: group,
    read: () => {
      const picked = boxes.filter(b => b.checked).map(b => b.value);
      return picked.length === 0 ? undefined : picked;
    }
  };
}

function inputOf(field: FormField, id: string): Input {
  switch (field.type) {
    case 'string':
      return stringInput(field, id);
    case 'number':
    case 'integer':
      return numberInput(field, id);
    case 'boolean':
      return booleanInput(field, id);
    case 'choice':
      return choiceInput(field, id);
    case 'choices':
      return choicesInput(field, id);
  }
}

/** What a field's hint says: its description, and its limits. */
function hintOf(field: FormField): string {
  const parts: string[] = [];
  if (field.description !== '') {
    parts.push(field.description);
  }
  const unit = field.type === 'string' ? ' characters' : field.type === 'choices' ? ' chosen' : '';
  const { minimum: low, maximum: high } = field;
  if (low !== null && high !== null) {
    parts.push(`${low.toLocaleString('en')} to ${high.toLocaleString('en')}${unit}`);
  } else if (low !== null) {
    parts.push(`at least ${low.toLocaleString('en')}${unit}`);
  } else if (high !== null) {
    parts.push(`at most ${high.toLocaleString('en')}${unit}`);
  }
  return parts.join(' · ');
}

/** One row of the form: label (a `*` when required), input, hint. */
function row(field: FormField, input: Input, id: string): HTMLElement {
  const label = h('label', 'field-label', field.title || field.name);
  label.htmlFor = id;
  if (field.required) {
    label.append(h('span', 'field-required', ' *'));
  }
  const hint = hintOf(field);
  const node = box('div', 'field', [label, input.node, hint ? h('div', 'hint', hint) : null]);
  node.dataset.field = field.name;
  node.dataset.type = field.type;
  return node;
}

/** The answered content, as a key/value table (or nothing when there is none). */
function sentTable(content: string): HTMLElement | null {
  if (content === '') {
    return null;
  }
  try {
    const parsed: unknown = JSON.parse(content);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return argsTable(parsed as Record<string, JsonValue>);
    }
  } catch {
    // not JSON: shown as it is
  }
  return h('pre', 'raw', content);
}

/** The link of a URL-mode request, shown whole (never opened without the person). */
function linkNode(url: string): HTMLElement {
  const safe = /^https?:\/\//i.test(url);
  if (!safe) {
    return h('code', 'raw', url);
  }
  const link = h('a', 'link', url);
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  return box('div', 'elicit-url', [link]);
}

/** The card of a server's question in message `message`. */
export function elicitationNode(
  message: Message,
  card: ElicitationCard,
  actions: Actions
): HTMLElement {
  const waiting = asking(message, card);
  const node = h('div', 'elicitation');
  node.dataset.state = waiting ? 'pending' : (card.answer?.action ?? 'closed');
  node.dataset.elicitationId = card.id;
  node.append(
    box('div', 'tool-head', [
      h('span', 'tool-name', 'question'),
      h('span', 'tool-summary', `from MCP server ${card.server}`),
      h('span', 'stage', waiting ? 'waits for your answer' : card.answer ? 'answered' : 'closed')
    ])
  );
  if (card.message !== '') {
    node.append(h('div', 'elicit-message', card.message));
  }
  if (card.mode === 'url') {
    node.append(linkNode(card.url));
  }
  if (waiting) {
    node.append(formNode(message.id, card, actions));
  } else if (card.answer !== null) {
    const line = h('div', 'decision', answerLine(card.answer));
    line.dataset.decision = card.answer.action === 'accept' ? 'accept' : 'deny';
    node.append(line);
    const sent = sentTable(card.answer.content);
    if (sent !== null) {
      node.append(sent);
    }
  } else {
    node.append(h('div', 'hint', 'not answered: its message ended'));
  }
  return node;
}

function formNode(messageId: string, card: ElicitationCard, actions: Actions): HTMLElement {
  const form = h('form', 'elicit-form');
  form.noValidate = true; // the kernel checks, and says what to fix
  const inputs = new Map<string, Input>();
  for (const field of card.fields) {
    const id = nextId();
    const input = inputOf(field, id);
    inputs.set(field.name, input);
    form.append(row(field, input, id));
  }
  const said = h('div', 'reply');
  const buttons: HTMLButtonElement[] = [];
  const send = (action: ElicitationActionName): void => {
    const answer: Record<string, JsonValue> = {};
    if (action === 'answer') {
      for (const [name, input] of inputs) {
        const value = input.read();
        if (value !== undefined) {
          answer[name] = value;
        }
      }
    }
    for (const b of buttons) {
      b.disabled = true;
    }
    said.classList.remove('collet-is-error');
    said.textContent =
      action === 'answer' ? 'sending…' : `${action === 'decline' ? 'declining' : 'cancelling'}…`;
    void actions
      .elicit(messageId, card.id, action, action === 'answer' ? JSON.stringify(answer) : '')
      .then(reply => {
        if (!reply.ok) {
          said.textContent = reply.text;
          said.classList.add('collet-is-error');
          for (const b of buttons) {
            b.disabled = false;
          }
        }
      });
  };
  form.addEventListener('submit', event => {
    event.preventDefault();
    send('answer');
  });
  buttons.push(
    button(
      'Accept',
      () => {
        send('answer');
      },
      {
        kind: 'accept',
        title:
          card.mode === 'url'
            ? 'Tell the server you open the link'
            : 'Send these values to the server'
      }
    ),
    button(
      'Decline',
      () => {
        send('decline');
      },
      { kind: 'warn', title: 'Refuse: the server is told you declined' }
    ),
    button(
      'Cancel',
      () => {
        send('dismiss');
      },
      { title: 'Dismiss without choosing (the turn goes on)' }
    )
  );
  form.append(box('div', 'buttons', buttons), said);
  return form;
}
