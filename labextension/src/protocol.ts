/**
 * The sidebar's comm protocol (target `collet`), typed once; mirrors collet_nb/ui/protocol.py.
 * Every message carries `protocol_version`; `readKernelMessage` checks what the kernel sends.
 */

/** The version both ends speak; a kernel speaking another one is refused. */
export const PROTOCOL_VERSION = 1;

/** The comm target that `%load_ext collet_nb` registers in the kernel. */
export const COMM_TARGET = 'collet';

// ── the status snapshot (`collet_nb.status()`, DESIGN.md) ──

export type SessionState = 'idle' | 'running' | 'awaiting_approval' | 'awaiting_plan';

export type MessageState = 'queued' | 'running' | 'answered' | 'failed' | 'cancelled';

export type AgentKind = 'code' | 'architect' | 'ask';

export const AGENTS: readonly AgentKind[] = ['code', 'architect', 'ask'];

/** One message of the session, oldest first. */
export interface MessageSummary {
  id: string;
  text: string;
  state: MessageState;
  error: string | null;
}

/** A tool call waiting for Allow once / Allow for session / Deny. */
export interface PendingTool {
  call_id: string;
  name: string;
  arguments: string;
}

/** The session at a glance, as `collet_nb.status()` returns it. */
export interface SessionStatus {
  session_id: string;
  project_dir: string;
  state: SessionState;
  busy: boolean;
  agent: string;
  provider: string;
  model: string;
  streaming: string;
  workspace: string;
  approval: string;
  pending_plan: string | null;
  pending_tools: PendingTool[];
  messages: MessageSummary[];
  iterations: number;
  tokens: { prompt: number; completion: number };
  context: { used: number; budget: number };
}

// ── the runtime's events (`Event.to_dict()` of collet_nb/core/events.py) ──

interface EventBase {
  message_id: string;
}

export interface MessageStateEvent extends EventBase {
  type: 'message_state';
  state: MessageState;
  error: string | null;
  text: string;
}

export interface TextDeltaEvent extends EventBase {
  type: 'text_delta';
  text: string;
}

export interface ReasoningDeltaEvent extends EventBase {
  type: 'reasoning_delta';
  text: string;
}

export interface AnswerResetEvent extends EventBase {
  type: 'answer_reset';
  reason: string;
}

export interface ToolCallEvent extends EventBase {
  type: 'tool_call';
  call_id: string;
  name: string;
  arguments: string;
}

export interface ToolResultEvent extends EventBase {
  type: 'tool_result';
  call_id: string;
  name: string;
  content: string;
  is_error: boolean;
  duration_s: number;
}

export interface ApprovalRequestedEvent extends EventBase {
  type: 'approval_requested';
  call_id: string;
  name: string;
  arguments: string;
}

export interface ApprovalResolvedEvent extends EventBase {
  type: 'approval_resolved';
  call_id: string;
  decision: string;
  reason: string;
  by: string;
}

export interface PlanReadyEvent extends EventBase {
  type: 'plan_ready';
  plan: string;
}

export interface PlanResolvedEvent extends EventBase {
  type: 'plan_resolved';
  approved: boolean;
  note: string;
  by: string;
}

export interface StatusEvent extends EventBase {
  type: 'status';
  iteration: number;
  prompt_tokens: number;
  completion_tokens: number;
  context_used: number;
  context_budget: number;
}

export interface PhaseEvent extends EventBase {
  type: 'phase';
  phase: string;
}

export interface CompactedEvent extends EventBase {
  type: 'compacted';
  tokens_before: number;
  tokens_after: number;
  messages_removed: number;
}

export interface TurnFinishedEvent extends EventBase {
  type: 'turn_finished';
  stop_reason: string;
  iterations: number;
}

export interface ErrorEvent extends EventBase {
  type: 'error';
  error: string;
  kind: string;
}

export interface NoticeEvent extends EventBase {
  type: 'notice';
  text: string;
  level: string;
}

export type SessionEvent =
  | MessageStateEvent
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | AnswerResetEvent
  | ToolCallEvent
  | ToolResultEvent
  | ApprovalRequestedEvent
  | ApprovalResolvedEvent
  | PlanReadyEvent
  | PlanResolvedEvent
  | StatusEvent
  | PhaseEvent
  | CompactedEvent
  | TurnFinishedEvent
  | ErrorEvent
  | NoticeEvent;

// ── kernel → sidebar ──

export interface StatusMessage {
  protocol_version: number;
  type: 'status';
  status: SessionStatus;
}

export interface EventMessage {
  protocol_version: number;
  type: 'event';
  event: SessionEvent;
}

export interface ReplyMessage {
  protocol_version: number;
  type: 'reply';
  request_id: string | null;
  ok: boolean;
  text: string;
}

export type KernelMessage = StatusMessage | EventMessage | ReplyMessage;

// ── sidebar → kernel ──

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is a JSONObject for comm.send, an interface is not
export type SendRequest = {
  protocol_version: number;
  type: 'send';
  request_id: string;
  text: string;
  agent?: AgentKind;
  model?: string;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is a JSONObject for comm.send, an interface is not
export type CommandRequest = {
  protocol_version: number;
  type: 'command';
  request_id: string;
  text: string;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- an alias is a JSONObject for comm.send, an interface is not
export type HelloRequest = {
  protocol_version: number;
  type: 'hello';
  request_id?: string;
};

export type SidebarRequest = SendRequest | CommandRequest | HelloRequest;

// ── reading what the kernel sends ──

/** Why a kernel message could not be read (shown in the sidebar, never thrown). */
export class ProtocolProblem {
  constructor(readonly reason: string) {}
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function str(data: Json, key: string): string {
  const value = data[key];
  return typeof value === 'string' ? value : '';
}

function num(data: Json, key: string): number {
  const value = data[key];
  return typeof value === 'number' ? value : 0;
}

function strOrNull(data: Json, key: string): string | null {
  const value = data[key];
  return typeof value === 'string' ? value : null;
}

const SESSION_STATES: readonly string[] = ['idle', 'running', 'awaiting_approval', 'awaiting_plan'];
const MESSAGE_STATES: readonly string[] = ['queued', 'running', 'answered', 'failed', 'cancelled'];

function sessionState(value: string): SessionState {
  return SESSION_STATES.includes(value) ? (value as SessionState) : 'idle';
}

function messageState(value: string): MessageState {
  return MESSAGE_STATES.includes(value) ? (value as MessageState) : 'queued';
}

function records(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

/** A status snapshot with every field of the right type (missing ones get neutral values). */
export function readStatus(data: Json): SessionStatus {
  const tokens = isRecord(data.tokens) ? data.tokens : {};
  const context = isRecord(data.context) ? data.context : {};
  return {
    session_id: str(data, 'session_id'),
    project_dir: str(data, 'project_dir'),
    state: sessionState(str(data, 'state')),
    busy: data.busy === true,
    agent: str(data, 'agent'),
    provider: str(data, 'provider'),
    model: str(data, 'model'),
    streaming: str(data, 'streaming'),
    workspace: str(data, 'workspace'),
    approval: str(data, 'approval'),
    pending_plan: strOrNull(data, 'pending_plan'),
    pending_tools: records(data.pending_tools).map(p => ({
      call_id: str(p, 'call_id'),
      name: str(p, 'name'),
      arguments: str(p, 'arguments')
    })),
    messages: records(data.messages).map(m => ({
      id: str(m, 'id'),
      text: str(m, 'text'),
      state: messageState(str(m, 'state')),
      error: strOrNull(m, 'error')
    })),
    iterations: num(data, 'iterations'),
    tokens: { prompt: num(tokens, 'prompt'), completion: num(tokens, 'completion') },
    context: { used: num(context, 'used'), budget: num(context, 'budget') }
  };
}

/** One event, or null for a type this sidebar does not know (newer kernels may add some). */
export function readEvent(data: Json): SessionEvent | null {
  const message_id = str(data, 'message_id');
  switch (data.type) {
    case 'message_state':
      return {
        type: 'message_state',
        message_id,
        state: messageState(str(data, 'state')),
        error: strOrNull(data, 'error'),
        text: str(data, 'text')
      };
    case 'text_delta':
      return { type: 'text_delta', message_id, text: str(data, 'text') };
    case 'reasoning_delta':
      return { type: 'reasoning_delta', message_id, text: str(data, 'text') };
    case 'answer_reset':
      return { type: 'answer_reset', message_id, reason: str(data, 'reason') };
    case 'tool_call':
    case 'approval_requested':
      return {
        type: data.type,
        message_id,
        call_id: str(data, 'call_id'),
        name: str(data, 'name'),
        arguments: str(data, 'arguments')
      };
    case 'tool_result':
      return {
        type: 'tool_result',
        message_id,
        call_id: str(data, 'call_id'),
        name: str(data, 'name'),
        content: str(data, 'content'),
        is_error: data.is_error === true,
        duration_s: num(data, 'duration_s')
      };
    case 'approval_resolved':
      return {
        type: 'approval_resolved',
        message_id,
        call_id: str(data, 'call_id'),
        decision: str(data, 'decision'),
        reason: str(data, 'reason'),
        by: str(data, 'by')
      };
    case 'plan_ready':
      return { type: 'plan_ready', message_id, plan: str(data, 'plan') };
    case 'plan_resolved':
      return {
        type: 'plan_resolved',
        message_id,
        approved: data.approved === true,
        note: str(data, 'note'),
        by: str(data, 'by')
      };
    case 'status':
      return {
        type: 'status',
        message_id,
        iteration: num(data, 'iteration'),
        prompt_tokens: num(data, 'prompt_tokens'),
        completion_tokens: num(data, 'completion_tokens'),
        context_used: num(data, 'context_used'),
        context_budget: num(data, 'context_budget')
      };
    case 'phase':
      return { type: 'phase', message_id, phase: str(data, 'phase') };
    case 'compacted':
      return {
        type: 'compacted',
        message_id,
        tokens_before: num(data, 'tokens_before'),
        tokens_after: num(data, 'tokens_after'),
        messages_removed: num(data, 'messages_removed')
      };
    case 'turn_finished':
      return {
        type: 'turn_finished',
        message_id,
        stop_reason: str(data, 'stop_reason'),
        iterations: num(data, 'iterations')
      };
    case 'error':
      return { type: 'error', message_id, error: str(data, 'error'), kind: str(data, 'kind') };
    case 'notice':
      return { type: 'notice', message_id, text: str(data, 'text'), level: str(data, 'level') };
    default:
      return null;
  }
}

/**
 * Read one comm message from the kernel.
 *
 * @returns the typed message; null for an event type this sidebar does not know; a
 *   ProtocolProblem for a message it cannot use (wrong version, unknown type, not an object).
 */
export function readKernelMessage(data: unknown): KernelMessage | null | ProtocolProblem {
  if (!isRecord(data)) {
    return new ProtocolProblem('the kernel sent a message that is not a JSON object');
  }
  const version = data.protocol_version;
  if (version !== PROTOCOL_VERSION) {
    return new ProtocolProblem(
      `the kernel speaks protocol ${JSON.stringify(version)} and this sidebar speaks ` +
        `${PROTOCOL_VERSION}: install matching versions of collet_nb, then reload the page`
    );
  }
  switch (data.type) {
    case 'status':
      return isRecord(data.status)
        ? { protocol_version: version, type: 'status', status: readStatus(data.status) }
        : new ProtocolProblem('a status message without a status object');
    case 'event': {
      if (!isRecord(data.event)) {
        return new ProtocolProblem('an event message without an event object');
      }
      const event = readEvent(data.event);
      return event === null ? null : { protocol_version: version, type: 'event', event };
    }
    case 'reply':
      return {
        protocol_version: version,
        type: 'reply',
        request_id: strOrNull(data, 'request_id'),
        ok: data.ok === true,
        text: str(data, 'text')
      };
    default:
      return new ProtocolProblem(`unknown message type ${JSON.stringify(data.type)}`);
  }
}
