/**
 * The left-sidebar panel: the active notebook's collet session — state, agent and model, the
 * streaming conversation, pending tool calls and plan, the queue, Cancel and a send box.
 * It holds no session state of its own: it renders a Connection's Conversation and sends
 * the same slash commands the cell widgets' buttons run.
 */

import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { Connection } from './connection';
import { settled, stateText, statusLine } from './conversation';
import { PREFIX, atEnd, badge, button, el, fill } from './dom';
import { AGENTS } from './protocol';
import type { AgentKind, PendingTool, ReplyMessage } from './protocol';
import { entryNode } from './timeline';

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

/** The sidebar widget. Call `follow()` with the active notebook. */
export class ColletSidebar extends Widget {
  private _panel: NotebookPanel | null = null;
  private _connection: Connection | null = null;
  private readonly _connections = new Map<NotebookPanel, Connection>();
  private readonly _entries = new Map<string, { revision: number; node: HTMLElement }>();
  private _epoch = -1;
  private _frame = 0;
  private _toolRows = new Map<string, HTMLElement>();
  private _planKey: string | null = null;
  private _planNode: HTMLElement | null = null;

  private readonly _where = el('div', 'where');
  private readonly _hint = el('div', 'hint');
  private readonly _loadButton = button('Load collet_nb', () => void this._load(), {
    title: `Run ${LOAD_CODE} in this notebook's kernel`,
    kind: 'accept'
  });
  private readonly _status = el('div', 'status');
  private readonly _conversation = el('div', 'conversation');
  private readonly _pending = el('div', 'pending');
  private readonly _queue = el('div', 'queue');
  private readonly _agent = el('select', 'agent');
  private readonly _input = el('textarea', 'input');
  private readonly _sendButton = button('Send', () => void this._send(), { kind: 'accept' });
  private readonly _cancelButton = button('Cancel', () => void this._run('/cancel'), {
    title: 'Stop the running turn and empty the queue (/cancel)',
    kind: 'warn'
  });
  private readonly _notice = el('div', 'notice');
  private readonly _composer = el('div', 'composer');

  constructor(private readonly _rendermime: IRenderMimeRegistry | null) {
    super();
    this.id = 'collet-nb-sidebar';
    this.addClass(PREFIX);
    this.title.caption = 'Collet agent';
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
    this._entries.clear();
    this._epoch = -1;
    this._toolRows.clear();
    this._planKey = null;
    this._planNode = null;
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
      this._conversation,
      this._pending,
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
    const status = connection?.conversation.status ?? null;
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
      this._conversation,
      this._pending,
      this._queue,
      this._composer
    ]) {
      node.classList.toggle('jp-mod-hidden', !live);
    }
    if (!live) {
      return;
    }
    const now = settled(status);
    const phase = connection.conversation.phase;
    this._status.dataset.state = now.state;
    fill(this._status, [
      badge(now.state, stateText(now.state, phase)),
      el('span', 'statusLine', statusLine(now)),
      this._cancelButton
    ]);
    this._status.title = `session ${now.session_id} in ${now.project_dir}`;
    this._renderConversation(connection);
    this._renderPending(now.pending_tools, now.pending_plan, connection.conversation.planFrom);
    this._renderQueue(connection);
    this._cancelButton.disabled = !now.busy && connection.conversation.queued.length === 0;
  }

  private _renderConversation(connection: Connection): void {
    if (connection.conversation.epoch !== this._epoch) {
      this._epoch = connection.conversation.epoch;
      this._entries.clear(); // the ids now name other messages
    }
    const follow = atEnd(this._conversation);
    const nodes: HTMLElement[] = [];
    for (const entry of connection.conversation.entries) {
      let cached = this._entries.get(entry.id);
      if (cached?.revision !== entry.revision) {
        cached = { revision: entry.revision, node: entryNode(entry, this._rendermime) };
        this._entries.set(entry.id, cached);
      }
      nodes.push(cached.node);
    }
    const same =
      nodes.length === this._conversation.children.length &&
      nodes.every((node, i) => this._conversation.children[i] === node);
    if (!same) {
      fill(this._conversation, nodes);
    }
    if (nodes.length === 0) {
      fill(this._conversation, [el('div', 'empty', 'No messages yet: write one below.')]);
    }
    if (follow) {
      this._conversation.scrollTop = this._conversation.scrollHeight;
    }
  }

  private _renderPending(tools: PendingTool[], plan: string | null, planFrom: string): void {
    // Rows and the plan box live while the same call or plan waits (they hold what the user
    // types); the keys carry the content too, since call ids may repeat across turns.
    const rows = new Map<string, HTMLElement>();
    tools.forEach((tool, index) => {
      // `/allow` and `/deny` act on the oldest pending call: only that one gets buttons.
      const key = [tool.call_id, tool.name, tool.arguments, index === 0].join('\u0000');
      rows.set(key, this._toolRows.get(key) ?? this._toolRow(tool, index === 0));
    });
    this._toolRows = rows;
    const planKey = plan === null ? null : `${planFrom}\u0000${plan}`;
    if (planKey !== this._planKey) {
      this._planKey = planKey;
      this._planNode = plan === null ? null : this._planBox(plan);
    }
    const nodes = [...rows.values()];
    if (this._planNode !== null) {
      nodes.push(this._planNode);
    }
    if (
      nodes.length !== this._pending.children.length ||
      nodes.some((node, i) => this._pending.children[i] !== node)
    ) {
      fill(this._pending, nodes);
    }
  }

  private _toolRow(tool: PendingTool, actionable: boolean): HTMLElement {
    const row = el('div', 'approval');
    row.dataset.callId = tool.call_id;
    row.append(
      el('div', 'approvalTitle', `Allow ${tool.name}?`),
      el('pre', 'toolArgs', tool.arguments)
    );
    if (!actionable) {
      row.append(el('div', 'note', 'waits for the call above'));
      return row;
    }
    const reason = el('input', 'reason');
    reason.placeholder = 'reason for Deny (optional; the model reads it)';
    const buttons = el('div', 'buttons');
    buttons.append(
      button('Allow once', () => void this._run('/allow'), { kind: 'accept' }),
      button('Allow for session', () => void this._run('/allow session'), {
        title: `Allow ${tool.name} without asking for the rest of this session`
      }),
      button('Deny', () => void this._run(withText('/deny', reason.value)), { kind: 'warn' })
    );
    row.append(reason, buttons);
    return row;
  }

  private _planBox(plan: string): HTMLElement {
    const box = el('div', 'plan');
    box.append(el('div', 'approvalTitle', 'The plan waits for your decision'));
    const body = el('div', 'planText', plan);
    box.append(body);
    if (this._rendermime !== null) {
      const renderer = this._rendermime.createRenderer('text/markdown');
      void renderer
        .renderModel(this._rendermime.createModel({ data: { 'text/markdown': plan } }))
        .then(() => {
          renderer.node.classList.add(`${PREFIX}-markdown`);
          fill(body, [renderer.node]);
        })
        .catch(() => {
          renderer.dispose(); // the plain text stays
        });
    }
    const note = el('textarea', 'note');
    note.rows = 2;
    note.placeholder = 'Note for Approve, or why you reject it (optional)';
    const buttons = el('div', 'buttons');
    buttons.append(
      button('Approve', () => void this._run(withText('/approve', note.value)), {
        kind: 'accept'
      }),
      button('Reject', () => void this._run(withText('/reject', note.value)), { kind: 'warn' })
    );
    box.append(note, buttons);
    return box;
  }

  private _renderQueue(connection: Connection): void {
    const queued = connection.conversation.queued;
    if (queued.length === 0) {
      fill(this._queue, []);
      return;
    }
    const rows: HTMLElement[] = [el('div', 'queueTitle', `Queue (${queued.length})`)];
    for (const entry of queued) {
      const row = el('div', 'queued');
      row.dataset.messageId = entry.id;
      const remove = button('✕', () => void this._run(`/remove ${entry.id}`), {
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
    this._notice.textContent = text;
    this._notice.classList.toggle('jp-mod-error', !ok);
  }

  private _show(reply: ReplyMessage): void {
    this._say(reply.text, reply.ok);
  }

  private async _run(text: string): Promise<void> {
    const connection = this._connection;
    if (connection !== null) {
      this._show(await connection.command(text));
    }
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

/** `/command` followed by free text, if any (the text's lines are kept). */
function withText(command: string, text: string): string {
  const rest = text.trim();
  return rest === '' ? command : `${command} ${rest}`;
}

/** The agent chosen in the send box, if it is one of AGENTS. */
export function agentChoice(value: string): AgentKind | undefined {
  return AGENTS.find(a => a === value);
}
