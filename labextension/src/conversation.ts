/**
 * The one model of a session's conversation, shared by a cell's view and the sidebar: it folds
 * numbered event batches (docs/protocol.md) into messages, each with its status, its answer and
 * tool calls in the order they happened, its plan, its counters. Pure: no DOM, no kernel.
 *
 * A message's status comes from `message_status` only (derived once, in the runtime); before
 * the first one, from `message_state`. Every change bumps a `rev` on what changed, so a view
 * redraws only that.
 */

import type {
  Decision,
  ElicitationAction,
  Event,
  FormField,
  MessageStatus,
  Preview,
  ResultImage,
  RetryWaitEvent,
  SessionEvent,
  StatusEvent,
  WireEvent
} from './protocol';

/** A stretch of answer or reasoning text, between tool calls. */
export interface TextItem {
  kind: 'answer' | 'reasoning';
  text: string;
  rev: number;
}

/** A one-line note in the flow (a notice, a compaction, a restarted answer). */
export interface NoteItem {
  kind: 'note';
  text: string;
  level: string;
  rev: number;
}

export interface Approval {
  /** The call waits for Allow once / Allow for session / Deny. */
  pending: boolean;
  decision: Decision | null;
  by: string;
  /** Epoch seconds (0: unknown). */
  at: number;
  reason: string;
}

export interface ToolResult {
  content: string;
  is_error: boolean;
  duration_s: number;
  images: ResultImage[];
}

/** A tool call, with its approval and result as they come. */
export interface ToolCard {
  kind: 'tool';
  callId: string;
  name: string;
  /** The raw JSON text. */
  arguments: string;
  preview: Preview | null;
  /** Null while no approval was asked for nor decided. */
  approval: Approval | null;
  result: ToolResult | null;
  /** The last progress the tool reported while it runs (null when none). */
  progress: { progress: number; total: number | null; message: string } | null;
  rev: number;
}

export interface PlanDecision {
  approved: boolean;
  note: string;
  by: string;
  at: number;
  /** The message that carries an approved plan out ("" when none). */
  follow_up: string;
}

/** The architect's plan, where it was made. */
export interface PlanCard {
  kind: 'plan';
  text: string;
  pending: boolean;
  decision: PlanDecision | null;
  rev: number;
}

/** How the person answered what a server asked. */
export interface ElicitationAnswer {
  action: ElicitationAction;
  /** The JSON text sent with `accept` ("" otherwise). */
  content: string;
  by: string;
  at: number;
}

/** What an MCP server asks the person: a form (or a link), then the answer. */
export interface ElicitationCard {
  kind: 'elicitation';
  id: string;
  server: string;
  message: string;
  /** `form` or `url`. */
  mode: string;
  url: string;
  fields: FormField[];
  /** It waits for Accept / Decline / Cancel. */
  pending: boolean;
  answer: ElicitationAnswer | null;
  rev: number;
}

export type Item = TextItem | NoteItem | ToolCard | PlanCard | ElicitationCard;

/** The counters of the last `status` event. */
export type Counters = Omit<StatusEvent, 'type' | 'message_id'>;

/** The session's settings, as the last `session` event gave them. */
export type SessionSettings = Omit<SessionEvent, 'type' | 'message_id'>;

/** One message, with everything that happened in it. */
export interface Message {
  id: string;
  /** What the user wrote. */
  text: string;
  /** What both views show: from `message_status` (from `message_state` before the first). */
  status: MessageStatus;
  error: string | null;
  /** The message that retries this failed one ("" when none). */
  retriedBy: string;
  /** Whether a `message_status` came (then `message_state` no longer sets the status). */
  statusKnown: boolean;
  /** What the turn does now (thinking, streaming, tool …; "" when idle). */
  phase: string;
  /** Answer and reasoning text, notes, tool cards and plans, in the order they happened. */
  items: Item[];
  counters: Counters | null;
  /** The `kind` of the last `error` event ("" when none). */
  errorKind: string;
  /** A model request that waits to be tried again (null when none waits). */
  retry: RetryWait | null;
  rev: number;
}

/** What a `retry_wait` event says, until the reply goes on. */
export type RetryWait = Omit<RetryWaitEvent, 'type' | 'message_id' | 'wait_s'>;

/** Something that waits for a person: a tool call's decision or a plan's. */
export type Attention =
  | { kind: 'approval'; messageId: string; callId: string; name: string; card: ToolCard }
  | { kind: 'plan'; messageId: string; card: PlanCard }
  | { kind: 'elicitation'; messageId: string; card: ElicitationCard };

/** Statuses after which nothing of the message waits any more. */
const ENDED: ReadonlySet<string> = new Set(['answered', 'failed', 'cancelled']);

/** Whether a question still waits: asked, not answered, and its message not ended (a
 * cancelled turn's answer may never come as an event). */
export function asking(message: Message, card: ElicitationCard): boolean {
  return card.pending && !ENDED.has(message.status);
}

/** What a batch did: `gap` when events before it are missing (the host asks again from `seen`). */
export interface BatchOutcome {
  applied: number;
  skipped: number;
  gap: boolean;
  seen: number;
}

/** The message's answer: its answer segments, joined. */
export function answerOf(message: Message): string {
  return message.items
    .filter((item): item is TextItem => item.kind === 'answer')
    .map(item => item.text)
    .join('');
}

/** The message's reasoning text, joined. */
export function reasoningOf(message: Message): string {
  return message.items
    .filter((item): item is TextItem => item.kind === 'reasoning')
    .map(item => item.text)
    .join('');
}

/** The tool cards of a message, in order. */
export function toolsOf(message: Message): ToolCard[] {
  return message.items.filter((item): item is ToolCard => item.kind === 'tool');
}

/** The message's last plan, if it made one. */
export function planOf(message: Message): PlanCard | null {
  for (let i = message.items.length - 1; i >= 0; i--) {
    const item = message.items[i];
    if (item?.kind === 'plan') {
      return item;
    }
  }
  return null;
}

/** The message that carries out this message's approved plan ("" when none). */
export function followUpOf(message: Message): string {
  return planOf(message)?.decision?.follow_up ?? '';
}

/** A session's conversation, folded from numbered event batches. */
export class Conversation {
  /** The session's settings (null before the first `session` event). */
  session: SessionSettings | null = null;
  /** The last counters of any message. */
  counters: Counters | null = null;
  /** What the running turn does now ("" when idle). */
  phase = '';
  /** Notices about the session rather than one message. */
  readonly notes: NoteItem[] = [];
  /** Types of events this front end does not know, that came anyway. */
  readonly unknownTypes = new Set<string>();
  private readonly _messages = new Map<string, Message>();
  private _seen = 0;
  private _revision = 0;
  private _epoch = 0;

  /** How many events of the numbering were applied (what to send as `seen`). */
  get seen(): number {
    return this._seen;
  }

  /** Bumped on every change. */
  get revision(): number {
    return this._revision;
  }

  /** Bumped by `reset()`: a view drops what it drew. */
  get epoch(): number {
    return this._epoch;
  }

  /** Every message, in the order it first appeared. */
  get messages(): Message[] {
    return [...this._messages.values()];
  }

  message(id: string): Message | undefined {
    return this._messages.get(id);
  }

  /** What waits for a person now, oldest first. */
  get attention(): Attention[] {
    const found: Attention[] = [];
    for (const message of this._messages.values()) {
      for (const item of message.items) {
        if (item.kind === 'tool' && item.approval?.pending === true) {
          found.push({
            kind: 'approval',
            messageId: message.id,
            callId: item.callId,
            name: item.name,
            card: item
          });
        } else if (item.kind === 'plan' && item.pending) {
          found.push({ kind: 'plan', messageId: message.id, card: item });
        } else if (item.kind === 'elicitation' && asking(message, item)) {
          found.push({ kind: 'elicitation', messageId: message.id, card: item });
        }
      }
    }
    return found;
  }

  /** Forget everything: the numbering starts again from 0 (a new comm, another session). */
  reset(): void {
    this._messages.clear();
    this.notes.length = 0;
    this.unknownTypes.clear();
    this.session = null;
    this.counters = null;
    this.phase = '';
    this._seen = 0;
    this._epoch++;
    this._revision++;
  }

  /**
   * Apply events numbered from `start`: the overlap with what was seen is skipped; a batch
   * that starts after `seen` is not applied (`gap`: ask again from `seen`).
   */
  applyBatch(start: number, events: readonly WireEvent[]): BatchOutcome {
    if (start > this._seen) {
      return { applied: 0, skipped: 0, gap: true, seen: this._seen };
    }
    const skipped = Math.min(this._seen - start, events.length);
    const fresh = events.slice(skipped);
    for (const event of fresh) {
      this._apply(event);
      this._seen++;
    }
    if (fresh.length > 0) {
      this._revision++;
    }
    return { applied: fresh.length, skipped, gap: false, seen: this._seen };
  }

  private _apply(event: WireEvent): void {
    if (event.type === 'unknown') {
      this.unknownTypes.add(event.original);
      return;
    }
    switch (event.type) {
      case 'session':
        this.session = {
          agent: event.agent,
          provider: event.provider,
          model: event.model,
          approval: event.approval,
          streaming: event.streaming,
          workspace: event.workspace
        };
        return;
      case 'status':
        this.counters = countersOf(event);
        break;
      case 'phase':
        this.phase = event.phase === 'idle' ? '' : event.phase;
        break;
      case 'notice':
        if (event.message_id === '') {
          this.notes.push({ kind: 'note', text: event.text, level: event.level, rev: 0 });
          return;
        }
        break;
      default:
        break;
    }
    if (event.message_id === '') {
      return; // about the session, and nothing above used it
    }
    const message = this._ensure(event.message_id);
    applyToMessage(message, event);
    message.rev++;
  }

  private _ensure(id: string): Message {
    let message = this._messages.get(id);
    if (message === undefined) {
      message = {
        id,
        text: '',
        status: 'queued',
        error: null,
        retriedBy: '',
        statusKnown: false,
        phase: '',
        items: [],
        counters: null,
        errorKind: '',
        retry: null,
        rev: 0
      };
      this._messages.set(id, message);
    }
    return message;
  }
}

function applyToMessage(message: Message, event: Event): void {
  if (message.retry !== null && RETRY_ENDS.has(event.type)) {
    message.retry = null; // the reply goes on (or the message ended)
  }
  switch (event.type) {
    case 'retry_wait':
      message.retry = {
        reason: event.reason,
        detail: event.detail,
        until: event.until,
        attempt: event.attempt,
        attempts: event.attempts
      };
      break;
    case 'tool_progress': {
      const card = openCard(message, event.call_id, '', '');
      card.progress = { progress: event.progress, total: event.total, message: event.message };
      card.rev++;
      break;
    }
    case 'message_state':
      if (message.text === '' && event.text !== '') {
        message.text = event.text;
      }
      if (!message.statusKnown) {
        message.status = event.state;
        message.error = event.error;
      }
      break;
    case 'message_status':
      message.statusKnown = true;
      message.status = event.status;
      message.error = event.error;
      message.retriedBy = event.retried_by;
      break;
    case 'text_delta':
      appendText(message, 'answer', event.text);
      break;
    case 'reasoning_delta':
      appendText(message, 'reasoning', event.text);
      break;
    case 'answer_reset':
      resetAnswer(message, event.reason);
      break;
    case 'tool_call':
      message.items.push({
        kind: 'tool',
        callId: event.call_id,
        name: event.name,
        arguments: event.arguments,
        preview: event.preview,
        approval: null,
        result: null,
        progress: null,
        rev: 0
      });
      break;
    case 'approval_requested': {
      const card = openCard(message, event.call_id, event.name, event.arguments);
      card.preview = event.preview ?? card.preview;
      card.approval = { pending: true, decision: null, by: '', at: 0, reason: '' };
      card.rev++;
      break;
    }
    case 'approval_resolved': {
      const card = openCard(message, event.call_id, event.name, event.arguments);
      card.approval = {
        pending: false,
        decision: event.decision,
        by: event.by,
        at: event.at,
        reason: event.reason
      };
      card.rev++;
      break;
    }
    case 'tool_result': {
      const card = openCard(message, event.call_id, event.name, '');
      card.result = {
        content: event.content,
        is_error: event.is_error,
        duration_s: event.duration_s,
        images: event.images
      };
      card.rev++;
      break;
    }
    case 'elicitation_requested':
      message.items.push({
        kind: 'elicitation',
        id: event.elicitation_id,
        server: event.server,
        message: event.message,
        mode: event.mode,
        url: event.url,
        fields: event.fields,
        pending: true,
        answer: null,
        rev: 0
      });
      break;
    case 'elicitation_resolved': {
      let card = message.items.find(
        (item): item is ElicitationCard =>
          item.kind === 'elicitation' && item.id === event.elicitation_id
      );
      if (card === undefined) {
        card = {
          kind: 'elicitation',
          id: event.elicitation_id,
          server: event.server,
          message: '',
          mode: 'form',
          url: '',
          fields: [],
          pending: false,
          answer: null,
          rev: 0
        };
        message.items.push(card);
      }
      card.pending = false;
      card.answer = { action: event.action, content: event.content, by: event.by, at: event.at };
      card.rev++;
      break;
    }
    case 'plan_ready': {
      const plan = planOf(message);
      if (plan !== null && plan.decision === null) {
        // A reminder while it waits (or the same plan again): one card, where it was made.
        if (plan.text !== event.plan || !plan.pending) {
          plan.text = event.plan;
          plan.pending = true;
          plan.rev++;
        }
      } else {
        message.items.push({
          kind: 'plan',
          text: event.plan,
          pending: true,
          decision: null,
          rev: 0
        });
      }
      break;
    }
    case 'plan_resolved': {
      let plan = planOf(message);
      if (plan === null) {
        plan = { kind: 'plan', text: '', pending: false, decision: null, rev: 0 };
        message.items.push(plan);
      }
      plan.pending = false;
      plan.decision = {
        approved: event.approved,
        note: event.note,
        by: event.by,
        at: event.at,
        follow_up: event.follow_up
      };
      plan.rev++;
      break;
    }
    case 'status':
      message.counters = countersOf(event);
      break;
    case 'phase':
      message.phase = event.phase === 'idle' ? '' : event.phase;
      break;
    case 'compacted':
      message.items.push({
        kind: 'note',
        level: 'info',
        text:
          `context compacted: ${event.tokens_before.toLocaleString('en')} → ` +
          `${event.tokens_after.toLocaleString('en')} tokens, ` +
          `${event.messages_removed} messages folded`,
        rev: 0
      });
      break;
    case 'error':
      message.errorKind = event.kind;
      if (message.error === null || message.error === '') {
        message.error = event.error; // the message_status that follows says it too
      }
      break;
    case 'notice':
      message.items.push({ kind: 'note', text: event.text, level: event.level, rev: 0 });
      break;
    case 'turn_finished':
    case 'session':
      break;
  }
}

function countersOf(event: StatusEvent): Counters {
  return {
    iteration: event.iteration,
    prompt_tokens: event.prompt_tokens,
    completion_tokens: event.completion_tokens,
    context_used: event.context_used,
    context_budget: event.context_budget,
    cost_usd: event.cost_usd
  };
}

function appendText(message: Message, kind: 'answer' | 'reasoning', text: string): void {
  if (text === '') {
    return;
  }
  const last = message.items.at(-1);
  if (last?.kind === kind) {
    last.text += text;
    last.rev++;
  } else {
    message.items.push({ kind, text, rev: 0 });
  }
}

/**
 * The provider restarted its request: what it streamed since the last tool call or plan is
 * void (its reasoning too: the restarted request streams that again).
 */
function resetAnswer(message: Message, reason: string): void {
  let keep = message.items.length;
  while (keep > 0) {
    const item = message.items[keep - 1];
    if (item === undefined || (item.kind !== 'answer' && item.kind !== 'reasoning')) {
      break;
    }
    keep--;
  }
  const dropped = message.items.length - keep;
  message.items.length = keep;
  if (dropped > 0) {
    message.items.push({
      kind: 'note',
      level: 'info',
      text: reason ? `answer restarted: ${reason}` : 'answer restarted',
      rev: 0
    });
  }
}

/** The latest card of `callId` still open, or a new one (a decision or result without a call). */
function openCard(message: Message, callId: string, name: string, args: string): ToolCard {
  for (let i = message.items.length - 1; i >= 0; i--) {
    const item = message.items[i];
    if (item?.kind === 'tool' && item.callId === callId) {
      return item;
    }
  }
  const card: ToolCard = {
    kind: 'tool',
    callId,
    name,
    arguments: args,
    preview: null,
    approval: null,
    result: null,
    progress: null,
    rev: 0
  };
  message.items.push(card);
  return card;
}

/** Events after which a waiting retry is over: the reply goes on, or the message ended. */
const RETRY_ENDS: ReadonlySet<string> = new Set([
  'text_delta',
  'reasoning_delta',
  'answer_reset',
  'tool_call',
  'turn_finished',
  'error'
]);
