/**
 * One notebook's link to its kernel's collet session: the comm on target `collet`, its
 * lifecycle (no kernel → connecting → connected, or not loaded), the session's numbered event
 * log folded into the one conversation model, status snapshots, requests and their replies.
 */

import type { ISessionContext } from '@jupyterlab/apputils';
import type { Kernel, KernelMessage } from '@jupyterlab/services';
import type { JSONObject } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';
import { Signal } from '@lumino/signaling';
import type { ISignal } from '@lumino/signaling';

import { Conversation } from './conversation';
import { readNotebookRequest } from './notebook';
import type { NotebookReply, NotebookRequest } from './notebook';
import { COMM_TARGET, PROTOCOL_VERSION, ProtocolProblem, readKernelMessage } from './protocol';
import type {
  ActionRequest,
  AgentKind,
  ReplyMessage,
  SessionStatus,
  SidebarRequest,
  TranscriptMessage
} from './protocol';

/**
 * Where the link stands:
 * - `no-kernel`: the notebook has no running kernel;
 * - `connecting`: a comm was opened and the kernel has not answered yet;
 * - `not-loaded`: the kernel closed the comm (no `%load_ext collet_nb` in it);
 * - `connected`: status snapshots and events arrive;
 * - `incompatible`: the kernel speaks another protocol version.
 */
export type LinkState = 'no-kernel' | 'connecting' | 'not-loaded' | 'connected' | 'incompatible';

/** How long a request may wait for its reply before the sidebar says so. */
const REPLY_TIMEOUT_MS = 30_000;

/** The comm option of JupyterLab ≥ 4.4 (services ≥ 7.4); older versions lack it. */
interface SubshellOption {
  commsOverSubshells?: string;
}

/**
 * Keep `comm` on the kernel's main shell. JupyterLab ≥ 4.4 sends comm messages on a kernel
 * subshell (another thread) by default, but the kernel's session runner lives on the main
 * thread's event loop and is not thread-safe. Set as a plain string: older JupyterLabs have
 * neither the enum nor the property, and ignore it.
 */
function stayOnMainShell(comm: Kernel.IComm): void {
  (comm as SubshellOption).commsOverSubshells = 'disabled';
}

interface Waiter {
  resolve: (reply: ReplyMessage) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A sync that did not fill a gap in this long asks again. */
const RESYNC_AFTER_MS = 2_000;

/** The sidebar's side of one notebook's comm. */
export class Connection implements IDisposable {
  /** The session's conversation, from its whole event log (rebuilt on every new comm). */
  readonly conversation = new Conversation();
  /** The latest status snapshot (null before the first one). */
  status: SessionStatus | null = null;
  /** Performs the agent's notebook requests on this notebook (null: refused); a run answers
   * once its cell has run. */
  notebook: ((request: NotebookRequest) => NotebookReply | Promise<NotebookReply>) | null = null;
  private _state: LinkState = 'no-kernel';
  private _asked = -1;
  private _askedAt = 0;
  private _problem = '';
  private _comm: Kernel.IComm | null = null;
  private _kernel: Kernel.IKernelConnection | null = null;
  private _opening = false;
  private _again = false;
  private _requests = 0;
  private readonly _waiters = new Map<string, Waiter>();
  private readonly _changed = new Signal<this, void>(this);
  private readonly _transcript = new Signal<this, TranscriptMessage>(this);
  private _disposed = false;

  constructor(private readonly _context: ISessionContext) {
    _context.kernelChanged.connect(this._onKernelChanged);
    _context.statusChanged.connect(this._onKernelStatus);
    void this.connect();
  }

  /** Emitted after anything the sidebar shows changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted when a message this sidebar sent has ended, with its Markdown transcript. */
  get transcript(): ISignal<this, TranscriptMessage> {
    return this._transcript;
  }

  get state(): LinkState {
    return this._state;
  }

  /** Why the link is `incompatible` (empty otherwise). */
  get problem(): string {
    return this._problem;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open the comm unless it is open or opening; a closed comm means "not loaded". */
  async connect(): Promise<void> {
    const kernel = this._context.session?.kernel ?? null;
    if (this._disposed) {
      return;
    }
    if (this._opening) {
      this._again = true; // e.g. `%load_ext` ran while the first try was on its way
      return;
    }
    if (kernel === null) {
      this._closeComm();
      this._setState('no-kernel');
      return;
    }
    if (this._comm !== null && !this._comm.isDisposed && this._kernel === kernel) {
      return;
    }
    if (this._kernel !== kernel) {
      this._watch(kernel);
    }
    // A new comm gets the session's whole log, numbered from 0: start from nothing.
    this._forget();
    this._opening = true;
    this._setState('connecting');
    const comm = kernel.createComm(COMM_TARGET);
    stayOnMainShell(comm);
    this._comm = comm;
    comm.onMsg = (msg: KernelMessage.ICommMsgMsg) => {
      this._onMessage(comm, msg.content.data);
    };
    comm.onClose = () => {
      this._onClose(comm);
    };
    try {
      // The kernel answers on iopub before it goes idle: a status snapshot if the target
      // exists, a comm_close if it does not.
      await comm.open({ protocol_version: PROTOCOL_VERSION, type: 'hello', seen: 0 }).done;
    } catch {
      this._onClose(comm);
    } finally {
      this._opening = false;
    }
    if (this._comm === comm && this._state === 'connecting') {
      this._onClose(comm); // answered neither way: an old or foreign `collet` target
    }
    if (this._again) {
      this._again = false;
      if (this._state !== 'connected') {
        await this.connect();
      }
    }
  }

  /** Ask for a fresh snapshot and what is missing when connected; otherwise try to connect. */
  async refresh(): Promise<void> {
    if (this._state === 'connected') {
      await this._request({
        protocol_version: PROTOCOL_VERSION,
        type: 'hello',
        request_id: this._nextId(),
        seen: this.conversation.seen
      });
    } else {
      await this.connect();
    }
  }

  /** Send a message to the session (`agent` for this message only). */
  send(text: string, agent?: AgentKind): Promise<ReplyMessage> {
    const request_id = this._nextId();
    return this._request(
      agent === undefined
        ? { protocol_version: PROTOCOL_VERSION, type: 'send', request_id, text }
        : { protocol_version: PROTOCOL_VERSION, type: 'send', request_id, text, agent }
    );
  }

  /** A button's `action` request (the kernel records it as by `sidebar`). */
  action(request: ActionRequest): Promise<ReplyMessage> {
    return this._request(request);
  }

  /** A fresh request id. */
  nextId(): string {
    return this._nextId();
  }

  /** Run a slash command (`/cancel`, `/allow session`, `/remove m3` …). */
  command(text: string): Promise<ReplyMessage> {
    return this._request({
      protocol_version: PROTOCOL_VERSION,
      type: 'command',
      request_id: this._nextId(),
      text
    });
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._context.kernelChanged.disconnect(this._onKernelChanged);
    this._context.statusChanged.disconnect(this._onKernelStatus);
    this._closeComm();
    this._watch(null);
    this._failWaiters('the sidebar stopped following this notebook');
    Signal.clearData(this);
  }

  private _nextId(): string {
    this._requests++;
    return `s${this._requests}`;
  }

  private _request(request: SidebarRequest): Promise<ReplyMessage> {
    const comm = this._comm;
    const id = request.request_id ?? '';
    if (comm === null || comm.isDisposed || this._state !== 'connected') {
      return Promise.resolve(this._localReply(id, 'not connected to the collet session'));
    }
    return new Promise<ReplyMessage>(resolve => {
      const timer = setTimeout(() => {
        this._waiters.delete(id);
        resolve(this._localReply(id, `no reply from the kernel in ${REPLY_TIMEOUT_MS / 1000} s`));
      }, REPLY_TIMEOUT_MS);
      this._waiters.set(id, { resolve, timer });
      comm.send(request);
    });
  }

  private _localReply(request_id: string, text: string): ReplyMessage {
    return { protocol_version: PROTOCOL_VERSION, type: 'reply', request_id, ok: false, text };
  }

  private _onMessage(comm: Kernel.IComm, data: unknown): void {
    if (comm !== this._comm) {
      return;
    }
    if ((data as { type?: unknown } | null)?.type === 'notebook_request') {
      void this._onNotebookRequest(comm, data);
      return;
    }
    const msg = readKernelMessage(data);
    if (msg instanceof ProtocolProblem) {
      this._problem = msg.reason;
      this._closeComm();
      this._setState('incompatible');
      return;
    }
    switch (msg.type) {
      case 'status':
        if (this.status !== null && this.status.session_id !== msg.status.session_id) {
          // `/new` or `/resume`: the kernel follows another session, whose log it sends
          // from 0 right after this snapshot.
          this.conversation.reset();
          this._asked = -1;
        }
        this.status = msg.status;
        this._state = 'connected';
        break;
      case 'events': {
        const outcome = this.conversation.applyBatch(msg.start, msg.events);
        if (outcome.gap) {
          this._resync(outcome.seen);
        } else {
          this._asked = -1;
        }
        break;
      }
      case 'transcript':
        this._transcript.emit(msg);
        break;
      case 'reply': {
        const waiter = msg.request_id === null ? undefined : this._waiters.get(msg.request_id);
        if (waiter !== undefined && msg.request_id !== null) {
          clearTimeout(waiter.timer);
          this._waiters.delete(msg.request_id);
          waiter.resolve(msg);
        }
        break;
      }
    }
    this._changed.emit();
  }

  /** The agent's notebook tool asks for the notebook (notebook.ts): answer at once, or once a
   * cell it runs has run (unless the comm is gone by then). */
  private async _onNotebookRequest(comm: Kernel.IComm, data: unknown): Promise<void> {
    const request = readNotebookRequest(data);
    const id = (data as { request_id?: unknown }).request_id;
    const refused = (error: string): NotebookReply => ({
      protocol_version: PROTOCOL_VERSION,
      type: 'notebook_reply',
      request_id: typeof id === 'string' ? id : '',
      ok: false,
      error,
      path: ''
    });
    let reply: NotebookReply;
    if (typeof request === 'string') {
      reply = refused(`the front end cannot read this request: ${request}`);
    } else if (this.notebook === null) {
      reply = refused('this front end does not serve notebook requests');
    } else {
      try {
        reply = await this.notebook(request);
      } catch (error) {
        reply = refused(`the front end failed: ${String(error)}`);
      }
    }
    if (!comm.isDisposed) {
      comm.send(reply as unknown as JSONObject);
    }
  }

  /** Events are missing before a batch: ask for the log again from `seen`. */
  private _resync(seen: number): void {
    const now = Date.now();
    if (this._asked === seen && now - this._askedAt < RESYNC_AFTER_MS) {
      return;
    }
    this._asked = seen;
    this._askedAt = now;
    void this._request({
      protocol_version: PROTOCOL_VERSION,
      type: 'hello',
      request_id: this._nextId(),
      seen
    });
  }

  /** Drop what the sidebar knew of the session. */
  private _forget(): void {
    this.conversation.reset();
    this.status = null;
    this._asked = -1;
  }

  private _onClose(comm: Kernel.IComm): void {
    if (comm !== this._comm) {
      return;
    }
    this._comm = null;
    this._failWaiters('the kernel closed the collet comm');
    if (this._state !== 'incompatible') {
      this._setState(this._context.session?.kernel ? 'not-loaded' : 'no-kernel');
    }
  }

  private _closeComm(): void {
    const comm = this._comm;
    this._comm = null;
    if (comm !== null && !comm.isDisposed) {
      try {
        comm.close();
      } catch {
        // the kernel is gone (restarting or dead): its comms went with it
      }
    }
  }

  private _failWaiters(why: string): void {
    for (const [id, waiter] of this._waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(this._localReply(id, why));
    }
    this._waiters.clear();
  }

  private _setState(state: LinkState): void {
    this._state = state;
    this._changed.emit();
  }

  private readonly _onKernelChanged = (): void => {
    this._closeComm();
    this._forget();
    this._watch(null);
    void this.connect();
  };

  /** Follow `kernel`'s iopub (and stop following the previous kernel's). */
  private _watch(kernel: Kernel.IKernelConnection | null): void {
    this._kernel?.iopubMessage.disconnect(this._onIopub);
    this._kernel = kernel;
    kernel?.iopubMessage.connect(this._onIopub);
  }

  // Code that ran from any frontend (this notebook, a console, another tab) may have loaded
  // the extension: try again when such an execution ends.
  private readonly _onIopub = (
    _kernel: Kernel.IKernelConnection,
    msg: KernelMessage.IIOPubMessage
  ): void => {
    if (
      this._state !== 'connected' &&
      msg.header.msg_type === 'status' &&
      (msg.content as { execution_state?: string }).execution_state === 'idle' &&
      msg.parent_header.msg_type === 'execute_request'
    ) {
      void this.connect();
    }
  };

  private readonly _onKernelStatus = (_context: ISessionContext, status: Kernel.Status): void => {
    if (status === 'restarting' || status === 'autorestarting' || status === 'dead') {
      // A restarted kernel has lost the extension and its session state.
      this._closeComm();
      this._forget();
      this._setState(status === 'dead' ? 'no-kernel' : 'not-loaded');
    }
  };
}
