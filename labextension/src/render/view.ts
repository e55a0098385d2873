/**
 * The conversation's DOM: every message of a Conversation, in order, each a MessageView. The
 * sidebar shows a whole session with it; a cell's view shows its message and the follow-ups
 * (a retry, an approved plan's work) that its events bring.
 */

import type { Attention, Conversation } from '../conversation';
import type { Actions } from './actions';
import { h } from './dom';
import { MessageView } from './message';
import { settingsLine } from './words';

export interface ViewOptions {
  /** What shows before any message (e.g. while the kernel has not answered yet). */
  empty?: string;
  /** Show the session's settings above the messages (the whole-session view). */
  showSession?: boolean;
}

export class ConversationView {
  readonly node = h('div', 'view');
  private readonly _session = h('div', 'session');
  private readonly _list = h('div', 'messages');
  private readonly _notes = h('div', 'notes');
  private readonly _problem = h('div', 'problem');
  private readonly _empty: HTMLElement;
  private readonly _views = new Map<string, MessageView>();
  private _revision = -1;
  private _epoch = -1;

  constructor(
    readonly conversation: Conversation,
    private readonly _actions: Actions,
    private readonly _options: ViewOptions = {}
  ) {
    this._empty = h('div', 'empty', _options.empty ?? 'No messages yet.');
    this._problem.hidden = true;
    this.node.append(this._problem, this._session, this._empty, this._list, this._notes);
  }

  /** Draw what changed in the conversation; whether anything did. */
  update(): boolean {
    const c = this.conversation;
    if (c.revision === this._revision) {
      return false;
    }
    this._revision = c.revision;
    if (c.epoch !== this._epoch) {
      this._epoch = c.epoch;
      this._views.clear(); // a reset: the ids may name other messages now
    }
    const nodes: HTMLElement[] = [];
    for (const message of c.messages) {
      let view = this._views.get(message.id);
      if (view === undefined) {
        view = new MessageView(message.id, this._actions);
        this._views.set(message.id, view);
      }
      view.update(message);
      nodes.push(view.node);
    }
    const children = this._list.children;
    if (nodes.length !== children.length || nodes.some((n, i) => children[i] !== n)) {
      this._list.replaceChildren(...nodes);
    }
    this._empty.hidden = nodes.length > 0;
    const show = this._options.showSession === true && c.session !== null;
    this._session.hidden = !show;
    this._session.textContent = show && c.session !== null ? settingsLine(c.session) : '';
    this._notes.replaceChildren(
      ...c.notes.map(note => {
        const node = h('div', 'note', note.text);
        node.dataset.level = note.level;
        return node;
      })
    );
    return true;
  }

  /** Say what went wrong above the conversation (e.g. a protocol problem; "" clears it). */
  problem(text: string): void {
    this._problem.textContent = text === '' ? '' : `collet: ${text}`;
    this._problem.hidden = text === '';
  }

  /** The element of what waits for a person (to scroll to it). */
  locate(attention: Attention): HTMLElement | null {
    return this._views.get(attention.messageId)?.nodeOf(attention.card) ?? null;
  }

  /** The element of message `id`. */
  messageNode(id: string): HTMLElement | null {
    return this._views.get(id)?.node ?? null;
  }
}
