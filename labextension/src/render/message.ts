/**
 * The DOM of one message, drawn from the model and redrawn piece by piece: only the items
 * whose `rev` changed are made again, streamed text is updated in place, and a waiting card
 * keeps what the user typed in it until its decision comes.
 */

import type { Item, Message, PlanCard, RetryWait, TextItem } from '../conversation';
import { asking } from '../conversation';
import type { Actions } from './actions';
import { box, button, h, inlineCode } from './dom';
import { elicitationNode } from './elicitation';
import { markdownHtml, markdownNode } from './markdown';
import { toolCardNode } from './tools';
import {
  canCancel,
  canRetry,
  countersLine,
  endingLine,
  planLine,
  retryLine,
  stageOf,
  statusWord
} from './words';

interface Drawn {
  key: string;
  node: HTMLElement;
}

/** The status pill: the same words in every view. */
export function statusPill(status: string): HTMLSpanElement {
  const pill = h('span', 'pill', statusWord(status));
  pill.dataset.status = status;
  return pill;
}

/** A reply line under buttons: says why a request failed. */
function replyLine(): HTMLDivElement {
  return h('div', 'reply');
}

function disableAll(buttons: readonly HTMLButtonElement[], disabled: boolean): void {
  for (const b of buttons) {
    b.disabled = disabled;
  }
}

function planNode(messageId: string, plan: PlanCard, actions: Actions): HTMLElement {
  const node = h('div', 'plan');
  node.dataset.state = plan.pending ? 'pending' : plan.decision?.approved ? 'approved' : 'rejected';
  const title = box('div', 'plan-head', [
    h('span', 'plan-title', 'Plan'),
    plan.pending ? h('span', 'stage', 'waits for your decision') : null
  ]);
  node.append(title);
  if (plan.text !== '') {
    node.append(markdownNode(plan.text));
  }
  if (plan.pending) {
    const note = h('textarea', 'note-input');
    note.rows = 2;
    note.placeholder = 'A note for Approve, or why you reject it (optional)';
    note.setAttribute('aria-label', 'Note on the plan');
    const said = replyLine();
    const buttons: HTMLButtonElement[] = [];
    const decide = (approved: boolean): void => {
      disableAll(buttons, true);
      said.textContent = approved ? 'approving…' : 'rejecting…';
      void actions.plan(messageId, approved, note.value.trim()).then(reply => {
        if (!reply.ok) {
          said.textContent = reply.text;
          said.classList.add('collet-is-error');
          disableAll(buttons, false);
        }
      });
    };
    buttons.push(
      button(
        'Approve',
        () => {
          decide(true);
        },
        { kind: 'accept' }
      ),
      button(
        'Reject',
        () => {
          decide(false);
        },
        { kind: 'warn' }
      )
    );
    node.append(box('div', 'approval', [note, box('div', 'buttons', buttons), said]));
  } else if (plan.decision !== null) {
    const line = h('div', 'decision', planLine(plan.decision));
    line.dataset.decision = plan.decision.approved ? 'approve' : 'reject';
    node.append(line);
  }
  return node;
}

function noteNode(text: string, level: string): HTMLElement {
  const node = h('div', 'note', text);
  node.dataset.level = level;
  return node;
}

/** Keep the open/closed state of folds across a redraw of the same item. */
function keepFolds(from: HTMLElement, to: HTMLElement): void {
  const before = from.querySelectorAll('details');
  const after = to.querySelectorAll('details');
  if (before.length !== after.length) {
    return;
  }
  after.forEach((details, i) => {
    const was = before[i];
    if (was !== undefined && was.open && !details.open) {
      details.open = true;
      details.dispatchEvent(new Event('toggle'));
    }
  });
}

/**
 * The line of a retry that waits, counting down each second by itself while it is on the
 * page (a redraw replaces it; the replaced one stops).
 */
function countdown(retry: RetryWait): HTMLElement {
  const line = h('div', 'retry');
  line.title = retry.detail;
  const tick = (): void => {
    const now = Date.now() / 1000;
    line.textContent = retryLine(retry, now);
    if (now < retry.until && (line.isConnected || !started)) {
      setTimeout(tick, 1000 - (Date.now() % 1000));
    }
    started = true;
  };
  let started = false;
  tick();
  return line;
}

/** One message's element; `update()` it with the model's message. */
export class MessageView {
  readonly node = h('div', 'message');
  private readonly _head = h('div', 'head');
  private readonly _user = h('div', 'user');
  private readonly _items = h('div', 'items');
  private readonly _foot = h('div', 'foot');
  private readonly _drawn = new Map<Item, Drawn>();
  private _key = '';

  constructor(
    readonly messageId: string,
    private readonly _actions: Actions
  ) {
    this.node.dataset.messageId = messageId;
    this._user.addEventListener('click', () => {
      this._user.classList.toggle('collet-open');
    });
    this.node.append(this._head, this._user, this._items, this._foot);
  }

  /** The element drawn for `item` (to scroll to it), if it is shown. */
  nodeOf(item: Item): HTMLElement | null {
    return this._drawn.get(item)?.node ?? null;
  }

  /** Draw what changed since the last call. */
  update(message: Message): void {
    const key = `${message.rev}`;
    if (key === this._key) {
      return;
    }
    this._key = key;
    this.node.dataset.status = message.status;
    this._drawHead(message);
    this._user.textContent = message.text;
    this._user.classList.toggle(
      'collet-long',
      message.text.split('\n').length > 3 || message.text.length > 300
    );
    this._drawItems(message);
    this._drawFoot(message);
  }

  private _drawHead(message: Message): void {
    const said = replyLine();
    const parts: (Node | null)[] = [h('code', 'id', message.id), statusPill(message.status)];
    // What the turn does now, while it runs (waiting on a call, the pill says it all).
    if (
      message.status === 'running' &&
      message.phase !== '' &&
      message.phase !== 'awaiting_approval'
    ) {
      parts.push(h('span', 'phase', message.phase));
    }
    parts.push(h('span', 'spacer'));
    const buttons: HTMLButtonElement[] = [];
    const run = (request: () => Promise<{ ok: boolean; text: string }>): void => {
      disableAll(buttons, true);
      void request().then(reply => {
        if (!reply.ok) {
          said.textContent = reply.text;
          said.classList.add('collet-is-error');
          disableAll(buttons, false);
        }
      });
    };
    if (canCancel(message)) {
      buttons.push(
        button(
          'Cancel',
          () => {
            run(() => this._actions.cancel(message.id));
          },
          {
            title:
              message.status === 'queued'
                ? `Take ${message.id} out of the queue`
                : `Stop ${message.id} (and the messages queued behind it)`
          }
        )
      );
    }
    if (canRetry(message)) {
      buttons.push(
        button(
          'Retry',
          () => {
            run(() => this._actions.retry(message.id));
          },
          {
            kind: 'accept',
            title: `Send ${message.id} again`
          }
        )
      );
    }
    this._head.replaceChildren(...parts.filter((p): p is Node => p !== null), ...buttons, said);
  }

  private _drawItems(message: Message): void {
    const nodes: HTMLElement[] = [];
    const items = message.items;
    const live = new Set<Item>();
    items.forEach((item, i) => {
      const next = items[i + 1];
      if (
        item.kind === 'answer' &&
        next?.kind === 'plan' &&
        next.text.trim() === item.text.trim()
      ) {
        return; // the plan box shows this answer: it is the plan
      }
      live.add(item);
      nodes.push(this._draw(message, item));
    });
    for (const item of this._drawn.keys()) {
      if (!live.has(item)) {
        this._drawn.delete(item);
      }
    }
    const children = this._items.children;
    const same = nodes.length === children.length && nodes.every((n, i) => children[i] === n);
    if (!same) {
      this._items.replaceChildren(...nodes);
    }
  }

  private _draw(message: Message, item: Item): HTMLElement {
    const drawn = this._drawn.get(item);
    const key =
      item.kind === 'tool'
        ? `${item.rev}:${stageOf(item, message.status)}`
        : item.kind === 'elicitation'
          ? `${item.rev}:${asking(message, item)}` // its message's end closes it
          : `${item.rev}`;
    if (drawn?.key === key) {
      return drawn.node;
    }
    let node: HTMLElement;
    switch (item.kind) {
      case 'answer':
      case 'reasoning':
        node = drawn?.node ?? this._textNode(item);
        this._fillText(node, item);
        break;
      case 'tool':
        node = toolCardNode(message.id, item, message.status, this._actions);
        break;
      case 'plan':
        node = planNode(message.id, item, this._actions);
        break;
      case 'elicitation':
        node = elicitationNode(message, item, this._actions);
        break;
      case 'note':
        node = noteNode(item.text, item.level);
        break;
    }
    if (drawn !== undefined && drawn.node !== node) {
      keepFolds(drawn.node, node);
    }
    this._drawn.set(item, { key, node });
    return node;
  }

  private _textNode(item: TextItem): HTMLElement {
    if (item.kind === 'answer') {
      return h('div', 'answer md');
    }
    const details = h('details', 'reasoning');
    details.append(h('summary', ''), h('div', 'reasoning-text'));
    return details;
  }

  /** Streamed text, updated in place (a fold stays as the user left it). */
  private _fillText(node: HTMLElement, item: TextItem): void {
    if (item.kind === 'answer') {
      node.innerHTML = markdownHtml(item.text);
      return;
    }
    const [summary, body] = [node.firstElementChild, node.lastElementChild];
    if (summary !== null && body !== null) {
      summary.textContent = `reasoning · ${item.text.length.toLocaleString('en')} characters`;
      body.textContent = item.text;
    }
  }

  private _drawFoot(message: Message): void {
    const parts: HTMLElement[] = [];
    if (message.retry !== null) {
      parts.push(countdown(message.retry));
    }
    const ending = endingLine(message);
    if (ending !== '') {
      const line = h('div', 'ending');
      line.append(...inlineCode(ending));
      line.dataset.status = message.status;
      parts.push(line);
    }
    const counters = countersLine(message);
    if (counters !== '') {
      parts.push(h('div', 'counters', counters));
    }
    this._foot.replaceChildren(...parts);
  }
}
