/**
 * The left-sidebar panel: the active notebook's collet session — its state and settings, the
 * whole conversation drawn by the one renderer (render/) that cells use too, what waits for a
 * decision, the queue, Cancel and a send box. It holds no session state of its own: it draws a
 * Connection's Conversation and sends `action` requests (recorded as by `sidebar`).
 */

import type { NotebookPanel } from '@jupyterlab/notebook';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { Connection } from './connection';
import type { Attention, Conversation } from './conversation';
import { answerNotebookRequest } from './notebook';
import { runCellOf } from './panelrun';
import { PREFIX, atEnd, badge, button, el, fill } from './dom';
import { AGENTS, PROTOCOL_VERSION } from './protocol';
import type {
  AgentKind,
  ReplyMessage,
  SessionState,
  SessionStatus,
  TranscriptMessage
} from './protocol';
import { requestActions } from './render/actions';
import { inlineCode } from './render/dom';
import type { Actions } from './render/actions';
import { injectStyles } from './render/styles';
import { ConversationView } from './render/view';
import { money, settingsLine, statusWord } from './render/words';

/** The command that loads the extension, as the sidebar shows and runs it. */
export const LOAD_CODE = '%load_ext collet_nb';

// What the panel says when it shows no session; `code` parts render as code.
const HINTS: Record<string, readonly (string | { code: string })[]> = {
  'no-notebook': ['Open a notebook: this panel shows its agent session.'],
  'no-kernel': [
    'This notebook has no running kernel. Start one, then run ',
    { code: LOAD_CODE },
    ' in a cell.'
  ],
  connecting: ['Connecting to the kernel…'],
  'not-loaded': [
    'No collet session in this kernel yet. Run ',
    { code: LOAD_CODE },
    ' in a cell of this notebook (the panel connects as soon as the cell has run), or ' +
      'press the button below.'
  ]
};

function hintNodes(parts: readonly (string | { code: string })[]): Node[] {
  return parts.map(part =>
    typeof part === 'string' ? document.createTextNode(part) : el('code', 'code', part.code)
  );
}

/**
 * The session's state for the header badge. A snapshot still saying `running` once no message
 * runs or waits is settled: the runner goes idle right after a message's last event, without
 * an event of its own.
 */
export function sessionState(status: SessionStatus, conversation: Conversation): SessionState {
  if (status.state !== 'running') {
    return status.state;
  }
  const active = conversation.messages.some(
    m => m.status === 'running' || m.status === 'awaiting_approval' || m.status === 'awaiting_input'
  );
  return active || conversation.messages.length === 0 ? 'running' : 'idle';
}

/** The header's status line: the session's settings and token count. */
export function headerLine(status: SessionStatus, conversation: Conversation): string {
  const settings = conversation.session ?? status;
  const parts = [settingsLine(settings)];
  const counters = conversation.counters;
  const tokens =
    counters === null
      ? status.tokens.prompt + status.tokens.completion
      : counters.prompt_tokens + counters.completion_tokens;
  if (tokens > 0) {
    parts.push(`${tokens.toLocaleString('en')} tokens`);
  }
  const cost = counters === null ? status.cost_usd : counters.cost_usd;
  if (cost !== null && cost > 0) {
    parts.push(money(cost));
  }
  return parts.join(' · ');
}

function attentionKey(item: Attention): string {
  switch (item.kind) {
    case 'plan':
      return `plan\u0000${item.messageId}`;
    case 'elicitation':
      return `elicitation\u0000${item.messageId}\u0000${item.card.id}`;
    case 'approval':
      return `tool\u0000${item.messageId}\u0000${item.callId}`;
  }
}

/** Put a message's transcript in a Markdown cell below the notebook's active cell (once). */
export function insertTranscript(panel: NotebookPanel, transcript: TranscriptMessage): void {
  const notebook = panel.content;
  const shared = notebook.model?.sharedModel;
  if (shared === undefined) {
    return;
  }
  const already = shared.cells.some(cell => {
    const meta = cell.getMetadata('collet');
    return (
      typeof meta === 'object' &&
      meta !== null &&
      !Array.isArray(meta) &&
      meta.transcript === transcript.message_id
    );
  });
  if (already) {
    return;
  }
  const index = Math.min(Math.max(notebook.activeCellIndex + 1, 0), shared.cells.length);
  shared.insertCell(index, {
    cell_type: 'markdown',
    source: transcript.markdown,
    metadata: { collet: { transcript: transcript.message_id } }
  });
}

/** The sidebar widget. Call `follow()` with the active notebook. */
export class ColletSidebar extends Widget {
  private _panel: NotebookPanel | null = null;
  private _connection: Connection | null = null;
  private readonly _connections = new Map<NotebookPanel, Connection>();
  private _view: ConversationView | null = null;
  private _viewOf: Conversation | null = null;
  private _frame = 0;
  private _attentionSeen = new Set<string>();
  private _attentionEpoch = -1;

  private readonly _actions: Actions = requestActions(
    request => this._ask(connection => connection.action(request)),
    () => this._connection?.nextId() ?? 'none'
  );

  private readonly _where = el('div', 'where');
  private readonly _hint = el('div', 'hint');
  private readonly _loadButton = button('Load collet_nb', () => void this._load(), {
    title: `Run ${LOAD_CODE} in this notebook's kernel`,
    kind: 'accept'
  });
  private readonly _status = el('div', 'status');
  private readonly _attention = el('div', 'attention');
  private readonly _conversation = el('div', 'conversation');
  private readonly _queue = el('div', 'queue');
  private readonly _agent = el('select', 'agent');
  private readonly _input = el('textarea', 'input');
  private readonly _sendButton = button('Send', () => void this._send(), { kind: 'accept' });
  private readonly _cancelButton = button('Cancel', () => void this._run('/cancel'), {
    title: 'Stop the running turn and empty the queue (/cancel)'
  });
  private readonly _notice = el('div', 'notice');
  private readonly _composer = el('div', 'composer');

  constructor() {
    super();
    this.id = 'collet-nb-sidebar';
    this.addClass(PREFIX);
    this.title.caption = 'Collet agent';
    injectStyles(document);
    this._build();
    this._schedule();
  }

  /** Show `panel`'s session (null: no notebook is active). */
  follow(panel: NotebookPanel | null): void {
    if (panel === this._panel) {
      return;
    }
    this._connection?.changed.disconnect(this._schedule);
    this._panel = panel;
    this._connection = panel === null ? null : this._connectionOf(panel);
    this._connection?.changed.connect(this._schedule);
    this._view = null;
    this._viewOf = null;
    this._attentionSeen = new Set();
    this._attentionEpoch = -1;
    this._notice.textContent = '';
    this._schedule();
  }

  /** Try to connect `panel` again if it is not connected (a cell of it just ran). */
  nudge(panel: NotebookPanel): void {
    const connection = this._connections.get(panel);
    if (connection !== undefined && connection.state !== 'connected') {
      void connection.connect();
    }
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    cancelAnimationFrame(this._frame);
    for (const connection of this._connections.values()) {
      connection.dispose();
    }
    this._connections.clear();
    super.dispose();
  }

  protected override onAfterShow(_msg: Message): void {
    this._schedule();
  }

  private _connectionOf(panel: NotebookPanel): Connection {
    let connection = this._connections.get(panel);
    if (connection === undefined) {
      const created = new Connection(panel.sessionContext);
      this._connections.set(panel, created);
      created.transcript.connect((_sender, transcript) => {
        insertTranscript(panel, transcript);
      });
      // The agent's notebook tools act on this panel's notebook model (notebook.ts).
      created.notebook = request =>
        answerNotebookRequest(panel.model?.sharedModel ?? null, request, panel.context.path, id =>
          runCellOf(panel, id)
        );
      panel.disposed.connect(() => {
        created.dispose();
        this._connections.delete(panel);
        if (this._panel === panel) {
          this.follow(null);
        }
      });
      connection = created;
    }
    return connection;
  }

  // ── layout ──

  private _build(): void {
    const header = el('div', 'header');
    const title = el('div', 'title', 'Collet');
    const refresh = button('', () => void this._connection?.refresh(), {
      title: 'Reconnect to this notebook’s kernel'
    });
    refresh.classList.add(`${PREFIX}-refresh`);
    refresh.setAttribute('aria-label', 'Refresh');
    refresh.append(refreshIcon.element({ tag: 'span' }));
    header.append(title, this._where, refresh);

    const hintBox = el('div', 'hintBox');
    hintBox.append(this._hint, this._loadButton);

    for (const choice of ['', ...AGENTS]) {
      const option = document.createElement('option');
      option.value = choice;
      option.textContent = choice === '' ? 'agent: session’s' : `agent: ${choice}`;
      this._agent.append(option);
    }
    this._agent.title = 'The agent of the next message sent from here';
    this._input.rows = 3;
    this._input.placeholder = 'Message the agent (Enter sends, Shift+Enter adds a line; /help)';
    this._input.addEventListener('keydown', event => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        event.stopPropagation();
        void this._send();
      }
    });
    const controls = el('div', 'controls');
    controls.append(this._agent, this._sendButton);
    this._composer.append(this._input, controls);

    this.node.append(
      header,
      hintBox,
      this._status,
      this._attention,
      this._conversation,
      this._queue,
      this._composer,
      this._notice
    );
  }

  // ── rendering ──

  // An arrow property, so it can be connected to signals and disconnected again.
  private readonly _schedule = (): void => {
    if (this._frame === 0 && !this.isDisposed) {
      this._frame = requestAnimationFrame(() => {
        this._frame = 0;
        this._render();
      });
    }
  };

  private _render(): void {
    const connection = this._connection;
    this._where.textContent = this._panel?.context.path ?? '';
    const state = connection === null ? 'no-notebook' : connection.state;
    const status = connection?.status ?? null;
    const live = connection !== null && state === 'connected' && status !== null;
    this.node.dataset.link = state;
    fill(
      this._hint,
      hintNodes(state === 'incompatible' ? [connection?.problem ?? ''] : (HINTS[state] ?? []))
    );
    this._hint.parentElement?.classList.toggle('jp-mod-hidden', live);
    this._loadButton.style.display = state === 'not-loaded' ? '' : 'none';
    for (const node of [
      this._status,
      this._attention,
      this._conversation,
      this._queue,
      this._composer
    ]) {
      node.classList.toggle('jp-mod-hidden', !live);
    }
    if (!live) {
      return;
    }
    const conversation = connection.conversation;
    const now = sessionState(status, conversation);
    const phase = conversation.phase;
    this._status.dataset.state = now;
    // A server's question waits while the session runs: the badge says so, as the pill does.
    const asked = now === 'running' && conversation.attention.some(a => a.kind === 'elicitation');
    const shown = asked ? 'awaiting_input' : now;
    const word = statusWord(shown) + (phase && shown === 'running' ? ` · ${phase}` : '');
    fill(this._status, [
      badge(shown, word),
      el('span', 'statusLine', headerLine(status, conversation)),
      this._cancelButton
    ]);
    this._status.title = `session ${status.session_id} in ${status.project_dir}`;
    const queued = conversation.messages.filter(m => m.status === 'queued');
    // A waiting plan has no Cancel: Reject is the way out (docs/protocol.md).
    const cancellable = now === 'running' || now === 'awaiting_approval' || queued.length > 0;
    this._cancelButton.disabled = !cancellable;
    // Red only when it would stop something.
    this._cancelButton.classList.toggle('jp-mod-warn', cancellable);
    this._renderConversation(connection);
    this._renderQueue(queued.map(m => ({ id: m.id, text: m.text })));
  }

  private _renderConversation(connection: Connection): void {
    const conversation = connection.conversation;
    if (this._view === null || this._viewOf !== conversation) {
      this._view = new ConversationView(conversation, this._actions, {
        empty: 'No messages yet: write one below.'
      });
      this._viewOf = conversation;
      fill(this._conversation, [this._view.node]);
    }
    const follow = atEnd(this._conversation);
    this._view.update();
    const attention = conversation.attention;
    this._renderAttention(attention);
    // What newly waits for a decision comes into view; otherwise new output does, when the
    // reader was at the end already.
    if (conversation.epoch !== this._attentionEpoch) {
      this._attentionEpoch = conversation.epoch;
      this._attentionSeen = new Set();
    }
    const fresh = attention.find(item => !this._attentionSeen.has(attentionKey(item)));
    // Once the last decision is made, what the turn does next is followed again.
    const decided = this._attentionSeen.size > 0 && attention.length === 0;
    this._attentionSeen = new Set(attention.map(attentionKey));
    const target = fresh === undefined ? null : this._view.locate(fresh);
    if (target !== null) {
      reveal(this._conversation, target);
    } else if (follow || decided) {
      this._conversation.scrollTop = this._conversation.scrollHeight;
    }
  }

  private _renderAttention(attention: readonly Attention[]): void {
    const rows = attention.map(item => {
      const what =
        item.kind === 'plan'
          ? `${item.messageId}: the plan waits for your decision`
          : item.kind === 'elicitation'
            ? `${item.messageId}: MCP server ${item.card.server} asks for your answer`
            : `${item.messageId}: ${item.name} waits for your decision`;
      const row = button(
        what,
        () => {
          const target = this._view?.locate(item) ?? null;
          if (target !== null) {
            reveal(this._conversation, target);
          }
        },
        { title: 'Show it' }
      );
      row.classList.add(`${PREFIX}-attentionItem`);
      return row;
    });
    fill(this._attention, rows);
  }

  private _renderQueue(queued: readonly { id: string; text: string }[]): void {
    if (queued.length === 0) {
      fill(this._queue, []);
      return;
    }
    const rows: HTMLElement[] = [el('div', 'queueTitle', `Queue (${queued.length})`)];
    for (const entry of queued) {
      const row = el('div', 'queued');
      row.dataset.messageId = entry.id;
      const remove = button('✕', () => void this._remove(entry.id), {
        title: `Remove ${entry.id} from the queue`
      });
      remove.setAttribute('aria-label', `Remove ${entry.id}`);
      row.append(remove, el('code', 'entryId', entry.id), el('span', 'queuedText', entry.text));
      rows.push(row);
    }
    fill(this._queue, rows);
  }

  // ── actions ──

  private _say(text: string, ok = true): void {
    this._notice.replaceChildren(...inlineCode(text)); // `commands` as code, not backticks
    this._notice.classList.toggle('jp-mod-error', !ok);
  }

  private _show(reply: ReplyMessage): void {
    this._say(reply.text, reply.ok);
  }

  /** Run a request on the current connection; its reply goes to the notice line too. */
  private async _ask(
    request: (connection: Connection) => Promise<ReplyMessage>
  ): Promise<ReplyMessage> {
    const connection = this._connection;
    if (connection === null) {
      return {
        protocol_version: PROTOCOL_VERSION,
        type: 'reply',
        request_id: null,
        ok: false,
        text: 'no notebook is active'
      };
    }
    const reply = await request(connection);
    this._show(reply);
    return reply;
  }

  private async _remove(messageId: string): Promise<void> {
    await this._actions.remove(messageId);
  }

  private async _run(text: string): Promise<void> {
    await this._ask(connection => connection.command(text));
  }

  private async _send(): Promise<void> {
    const connection = this._connection;
    const text = this._input.value.trim();
    if (connection === null || text === '') {
      return;
    }
    this._input.value = '';
    const agent = agentChoice(this._agent.value);
    const reply = text.startsWith('/')
      ? await connection.command(text)
      : await connection.send(text, agent);
    this._show(reply);
    if (!reply.ok && this._input.value === '') {
      this._input.value = text; // nothing was sent: keep the text to fix and resend
    }
  }

  private async _load(): Promise<void> {
    const kernel = this._panel?.sessionContext.session?.kernel;
    const connection = this._connection;
    if (!kernel || connection === null) {
      return;
    }
    this._say(`running ${LOAD_CODE}…`);
    const reply = await kernel.requestExecute({ code: LOAD_CODE, store_history: false }).done;
    if (reply.content.status === 'ok') {
      this._say('');
      await connection.connect();
    } else {
      this._say(
        `${LOAD_CODE} failed in this kernel: is collet_nb installed in the kernel's ` +
          'environment? (`pip install collet_nb` there, then restart the kernel)',
        false
      );
    }
  }
}

/** Scroll `scroller` so that `target` (inside it) is in view, its top first. */
function reveal(scroller: HTMLElement, target: HTMLElement): void {
  const top =
    target.getBoundingClientRect().top -
    scroller.getBoundingClientRect().top +
    scroller.scrollTop -
    8;
  const bottom = top + target.offsetHeight + 16;
  const view = scroller.clientHeight;
  if (top < scroller.scrollTop || bottom > scroller.scrollTop + view) {
    // All of it when it fits (a tool card with its buttons), else its beginning (a long plan).
    scroller.scrollTop = Math.max(0, bottom - top > view ? top : bottom - view);
  }
}

/** The agent chosen in the send box, if it is one of AGENTS. */
export function agentChoice(value: string): AgentKind | undefined {
  return AGENTS.find(a => a === value);
}
