/**
 * The sidebar's picture of one session: the latest status snapshot plus, per message, what
 * streamed (answer text, reasoning, tool calls, notes). Pure: no DOM, no kernel.
 */

import type {
  MessageState,
  MessageSummary,
  SessionEvent,
  SessionState,
  SessionStatus
} from './protocol';

/** A tool call as the conversation shows it. */
export interface ToolItem {
  kind: 'tool';
  callId: string;
  name: string;
  arguments: string;
  /** `running`, `waiting for approval`, `allowed`, `denied: …`, or `done`. */
  stage: string;
  result: string | null;
  isError: boolean;
}

/** A stretch of streamed text (answer or reasoning) or a one-line note. */
export interface TextItem {
  kind: 'answer' | 'reasoning' | 'note';
  text: string;
}

export type TimelineItem = ToolItem | TextItem;

/** One message with everything that streamed for it. */
export interface Entry {
  id: string;
  text: string;
  state: MessageState;
  error: string | null;
  timeline: TimelineItem[];
  /** The plan this message produced (architect), while or after it waited. */
  plan: string | null;
  /** Bumped on every change, so a view can re-render only what changed. */
  revision: number;
}

const TERMINAL: readonly MessageState[] = ['answered', 'failed', 'cancelled'];

/** Whether a message has ended (answered, failed or cancelled). */
export function isTerminal(state: MessageState): boolean {
  return TERMINAL.includes(state);
}

const DECISIONS: Record<string, string> = {
  allow: 'allowed once',
  allow_session: 'allowed for the session',
  deny: 'denied'
};

/** How a decision reads in the tool card (`allow_session` → `allowed for the session`). */
export function decisionText(decision: string): string {
  return DECISIONS[decision] ?? decision;
}

/**
 * The status as it is about to be: a session still marked running after its last message
 * ended is idle (the runner settles right after that message's final event, without an
 * event of its own). The same rule as the cell widgets' session panel.
 */
export function settled(status: SessionStatus): SessionStatus {
  const running = status.messages.some(m => m.state === 'running');
  if (status.state === 'running' && !running) {
    return { ...status, state: 'idle', busy: false };
  }
  return status;
}

/** A one-line summary of the session for the header. */
export function statusLine(status: SessionStatus): string {
  const parts = [
    `agent ${status.agent || 'code'}`,
    `model ${status.model || '(default)'}`,
    `provider ${status.provider}`,
    `approval ${status.approval}`
  ];
  const tokens = status.tokens.prompt + status.tokens.completion;
  if (tokens > 0) {
    parts.push(`${tokens.toLocaleString('en')} tokens`);
  }
  return parts.join(' · ');
}

/** How a session state reads on the badge. */
export function stateText(state: SessionState | MessageState, phase = ''): string {
  const text = state.replace('_', ' ');
  return phase && phase !== 'idle' && state === 'running' ? `${text} · ${phase}` : text;
}

/** The session's conversation, folded from status snapshots and events. */
export class Conversation {
  /** The latest snapshot (null before the first one). */
  status: SessionStatus | null = null;
  /** What the running turn does now (`thinking`, `streaming`, `tool` …). */
  phase = '';
  /** The message whose plan came last (keys the plan box: two plans may read the same). */
  planFrom = '';
  private readonly _entries = new Map<string, Entry>();
  private _revision = 0;
  private _epoch = 0;

  /** Every message, oldest first. */
  get entries(): Entry[] {
    return [...this._entries.values()];
  }

  /** Bumped on every change. */
  get revision(): number {
    return this._revision;
  }

  /** Bumped whenever the entries are dropped (a new kernel or session): views drop theirs. */
  get epoch(): number {
    return this._epoch;
  }

  /** The messages waiting for their turn, oldest first. */
  get queued(): Entry[] {
    return this.entries.filter(e => e.state === 'queued');
  }

  /** The entry of message `id`, if the sidebar knows it. */
  entry(id: string): Entry | undefined {
    return this._entries.get(id);
  }

  /** Forget everything (a new kernel, a new session). */
  clear(): void {
    this.status = null;
    this.phase = '';
    this.planFrom = '';
    this._entries.clear();
    this._epoch++;
    this._revision++;
  }

  /** Take a full snapshot: its message list is the truth about ids, text and states. */
  applyStatus(status: SessionStatus): void {
    const fresh = settled(status);
    if (this.status !== null && this.status.session_id !== fresh.session_id) {
      this._entries.clear(); // `/new` or `/resume`: another session's messages
      this._epoch++;
    }
    this.status = fresh;
    if (!fresh.busy) {
      this.phase = '';
    }
    for (const summary of fresh.messages) {
      this._sync(summary);
    }
    this._revision++;
  }

  /** Fold one event into its message's entry. */
  applyEvent(event: SessionEvent): void {
    if (event.type === 'phase') {
      this.phase = event.phase === 'idle' ? '' : event.phase;
      this._revision++;
      return;
    }
    if (event.type === 'status' || event.message_id === '') {
      return; // the snapshot that follows carries the counters; no message, no entry
    }
    const entry = this._ensure(event.message_id);
    this._apply(entry, event);
    entry.revision++;
    this._revision++;
  }

  private _sync(summary: MessageSummary): void {
    const entry = this._ensure(summary.id);
    if (
      entry.text !== summary.text ||
      entry.state !== summary.state ||
      entry.error !== summary.error
    ) {
      entry.text = summary.text;
      entry.state = summary.state;
      entry.error = summary.error;
      entry.revision++;
    }
  }

  private _ensure(id: string): Entry {
    let entry = this._entries.get(id);
    if (entry === undefined) {
      entry = { id, text: '', state: 'queued', error: null, timeline: [], plan: null, revision: 0 };
      this._entries.set(id, entry);
    }
    return entry;
  }

  private _apply(entry: Entry, event: SessionEvent): void {
    switch (event.type) {
      case 'message_state':
        entry.state = event.state;
        entry.error = event.error;
        if (event.text) {
          entry.text = event.text;
        }
        break;
      case 'text_delta':
        appendText(entry, 'answer', event.text);
        break;
      case 'reasoning_delta':
        appendText(entry, 'reasoning', event.text);
        break;
      case 'answer_reset':
        entry.timeline = entry.timeline.filter(item => item.kind !== 'answer');
        note(entry, `answer restarted: ${event.reason}`);
        break;
      case 'tool_call':
        entry.timeline.push({
          kind: 'tool',
          callId: event.call_id,
          name: event.name,
          arguments: event.arguments,
          stage: 'running',
          result: null,
          isError: false
        });
        break;
      case 'approval_requested':
        setStage(entry, event.call_id, 'waiting for approval');
        break;
      case 'approval_resolved': {
        const verdict = decisionText(event.decision);
        const by = event.by ? ` (${event.by})` : '';
        const detail = event.reason ? `: ${event.reason}` : '';
        setStage(entry, event.call_id, `${verdict}${detail}${by}`);
        break;
      }
      case 'tool_result': {
        const tool = findTool(entry, event.call_id);
        if (tool !== undefined) {
          tool.result = event.content;
          tool.isError = event.is_error;
          tool.stage = event.is_error ? 'failed' : 'done';
        }
        break;
      }
      case 'plan_ready':
        entry.plan = event.plan;
        this.planFrom = entry.id;
        break;
      case 'plan_resolved':
        note(
          entry,
          (event.approved ? 'plan approved' : 'plan rejected') + (event.note ? `: ${event.note}` : '')
        );
        break;
      case 'compacted':
        note(
          entry,
          `context compacted: ${event.tokens_before.toLocaleString('en')} → ` +
            `${event.tokens_after.toLocaleString('en')} tokens`
        );
        break;
      case 'error':
        entry.error = event.error;
        break;
      case 'notice':
        note(entry, event.level === 'info' ? event.text : `${event.level}: ${event.text}`);
        break;
      case 'turn_finished':
      case 'phase':
      case 'status':
        break;
    }
  }
}

function note(entry: Entry, text: string): void {
  entry.timeline.push({ kind: 'note', text });
}

function appendText(entry: Entry, kind: 'answer' | 'reasoning', text: string): void {
  const last = entry.timeline.at(-1);
  if (last?.kind === kind) {
    last.text += text;
  } else {
    entry.timeline.push({ kind, text });
  }
}

function findTool(entry: Entry, callId: string): ToolItem | undefined {
  for (const item of entry.timeline) {
    if (item.kind === 'tool' && item.callId === callId) {
      return item;
    }
  }
  return undefined;
}

function setStage(entry: Entry, callId: string, stage: string): void {
  const tool = findTool(entry, callId);
  if (tool !== undefined) {
    tool.stage = stage;
  }
}
