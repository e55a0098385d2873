/**
 * A cell's message view: the anywidget front end of collet_nb.ui.view.ConversationView. It
 * asks for its events when it renders (`sync` from 0: a fresh view has seen nothing), folds
 * the batches into the one conversation model, draws it with the one renderer, and sends
 * buttons as `action` requests. Bundled alone (collet_nb/static/message_view.js) with its
 * styles, so it works wherever anywidget does: JupyterLab, Notebook 7, VS Code.
 */

import { Conversation } from './conversation';
import { PROTOCOL_VERSION, ProtocolProblem, readKernelMessage } from './protocol';
import type { ActionRequest, KernelMessage, ViewRequest } from './protocol';
import { requestActions } from './render/actions';
import type { ActionReply } from './render/actions';
import { injectStyles } from './render/styles';
import { ConversationView } from './render/view';

/** What the kernel names the global that this bundle publishes (collet_nb/ui/view.py). */
export const GLOBAL_NAME = '__colletNbView2';

/** How long a button's request may wait for its reply. */
const REPLY_TIMEOUT_MS = 30_000;

/** A gap that a sync did not fill in this long asks again. */
const RESYNC_AFTER_MS = 2_000;

type Handler = (content: unknown, buffers?: unknown) => void;

/** The part of anywidget's model that a view uses. */
export interface ViewModel {
  get(name: string): unknown;
  on(event: 'msg:custom', callback: Handler): void;
  off(event: 'msg:custom', callback: Handler): void;
  send(content: ViewRequest): void;
}

export interface RenderProps {
  model: ViewModel;
  el: HTMLElement;
}

interface Waiter {
  resolve: (reply: ActionReply) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** One rendered view of a message (a second view of the same output is another one). */
export class CellView {
  readonly conversation = new Conversation();
  readonly view: ConversationView;
  private readonly _waiters = new Map<string, Waiter>();
  // Views of one widget share its replies: a per-view prefix keeps request ids apart.
  private readonly _prefix = `v${Math.random().toString(36).slice(2, 8)}-`;
  private _requests = 0;
  private _asked = -1; // the `seen` of the sync that is on its way, -1 when none
  private _askedAt = 0;
  private _disposed = false;

  constructor(
    private readonly _model: ViewModel,
    el: HTMLElement
  ) {
    const messageId = _model.get('message_id');
    const id = typeof messageId === 'string' ? messageId : '';
    const actions = requestActions(
      request => this._request(request),
      () => `${this._prefix}${++this._requests}`
    );
    this.view = new ConversationView(this.conversation, actions, {
      empty: id ? `${id}: waiting for the kernel…` : 'waiting for the kernel…',
      showSession: id === ''
    });
    el.append(this.view.node);
    this.view.update();
    const version = _model.get('protocol_version');
    if (version !== PROTOCOL_VERSION) {
      this.view.problem(
        `this output was made by a collet_nb that speaks protocol ${JSON.stringify(version)}, ` +
          `and this page's renderer speaks ${PROTOCOL_VERSION}: run the cell again`
      );
      return;
    }
    _model.on('msg:custom', this._onMessage);
    this._sync(0);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._model.off('msg:custom', this._onMessage);
    for (const [, waiter] of this._waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve({ ok: false, text: 'the view was closed' });
    }
    this._waiters.clear();
  }

  private readonly _onMessage = (content: unknown): void => {
    if (this._disposed) {
      return;
    }
    const msg = readKernelMessage(content);
    if (msg instanceof ProtocolProblem) {
      this.view.problem(msg.reason);
      return;
    }
    this._handle(msg);
  };

  private _handle(msg: KernelMessage): void {
    switch (msg.type) {
      case 'events': {
        const outcome = this.conversation.applyBatch(msg.start, msg.events);
        if (outcome.gap) {
          this._sync(outcome.seen); // events are missing before this batch: ask again
        } else {
          this._asked = -1;
        }
        this.view.update();
        break;
      }
      case 'reply': {
        const waiter = msg.request_id === null ? undefined : this._waiters.get(msg.request_id);
        if (waiter !== undefined && msg.request_id !== null) {
          clearTimeout(waiter.timer);
          this._waiters.delete(msg.request_id);
          waiter.resolve({ ok: msg.ok, text: msg.text });
        }
        break;
      }
      case 'status':
      case 'transcript':
        break; // the sidebar's
    }
  }

  private _sync(seen: number): void {
    const now = Date.now();
    if (this._asked === seen && now - this._askedAt < RESYNC_AFTER_MS) {
      return; // asked already; the answer is on its way
    }
    this._asked = seen;
    this._askedAt = now;
    this._model.send({ protocol_version: PROTOCOL_VERSION, type: 'sync', seen });
  }

  private _request(request: ActionRequest): Promise<ActionReply> {
    if (this._disposed) {
      return Promise.resolve({ ok: false, text: 'the view was closed' });
    }
    return new Promise<ActionReply>(resolve => {
      const timer = setTimeout(() => {
        this._waiters.delete(request.request_id);
        resolve({ ok: false, text: `no reply from the kernel in ${REPLY_TIMEOUT_MS / 1000} s` });
      }, REPLY_TIMEOUT_MS);
      this._waiters.set(request.request_id, { resolve, timer });
      this._model.send(request);
    });
  }
}

/** anywidget's render: one view in `el`; returns its cleanup (not a named export: anywidget
 * reads a named `render` as the deprecated form and warns). */
function render({ model, el }: RenderProps): () => void {
  injectStyles(el.ownerDocument);
  const view = new CellView(model, el);
  return () => {
    view.dispose();
  };
}

/** Publish the renderer for the kernel's small per-view loaders (collet_nb/ui/view.py). */
function publish(): void {
  (globalThis as unknown as Record<string, unknown>)[GLOBAL_NAME] = { render };
}

publish();

export default {
  initialize(): void {
    publish();
  },
  render
};
