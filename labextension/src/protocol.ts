/**
 * The view protocol, version 2 (docs/protocol.md), typed once: the runtime's events and the
 * messages of a cell's view (anywidget custom messages) and of the sidebar (comm `collet`).
 * Mirrors collet_nb/core/events.py and collet_nb/ui/protocol.py. `readKernelMessage` checks
 * what a kernel sends and says clearly what it cannot read; it never throws.
 */

/** The version both ends speak; a kernel speaking another one is refused. */
export const PROTOCOL_VERSION = 2;

/** The comm target that `%load_ext collet_nb` registers in the kernel. */
export const COMM_TARGET = 'collet';

// ── words with a fixed set of values ──

export type MessageState = 'queued' | 'running' | 'answered' | 'failed' | 'cancelled';

/** What both views show for a message (`message_status`), derived once, in the runtime. */
export type MessageStatus =
  | 'queued'
  | 'running'
  | 'awaiting_approval'
  | 'awaiting_plan'
  | 'awaiting_input'
  | 'answered'
  | 'failed'
  | 'cancelled';

export type SessionState = 'idle' | 'running' | 'awaiting_approval' | 'awaiting_plan';

/** A decision on a tool call. */
export type Decision = 'allow_once' | 'allow_session' | 'deny';

/** What a button asks the kernel to do (`action` requests). */
export type ActionName =
  | 'allow_once'
  | 'allow_session'
  | 'deny'
  | 'approve'
  | 'reject'
  | 'cancel'
  | 'retry'
  | 'remove'
  | 'answer'
  | 'decline'
  | 'dismiss';

/** How a person answered what an MCP server asked (`elicitation_resolved`). */
export type ElicitationAction = 'accept' | 'decline' | 'cancel';

/** The kind of a form's field (`elicitation_requested.fields`). */
export type FieldType = 'string' | 'number' | 'integer' | 'boolean' | 'choice' | 'choices';

export type AgentKind = 'code' | 'architect' | 'ask';

export const AGENTS: readonly AgentKind[] = ['code', 'architect', 'ask'];

export const MESSAGE_STATES: readonly MessageState[] = [
  'queued',
  'running',
  'answered',
  'failed',
  'cancelled'
];

export const MESSAGE_STATUSES: readonly MessageStatus[] = [
  'queued',
  'running',
  'awaiting_approval',
  'awaiting_plan',
  'awaiting_input',
  'answered',
  'failed',
  'cancelled'
];

export const SESSION_STATES: readonly SessionState[] = [
  'idle',
  'running',
  'awaiting_approval',
  'awaiting_plan'
];

export const DECISIONS: readonly Decision[] = ['allow_once', 'allow_session', 'deny'];

export const ELICITATION_ACTIONS: readonly ElicitationAction[] = ['accept', 'decline', 'cancel'];

export const FIELD_TYPES: readonly FieldType[] = [
  'string',
  'number',
  'integer',
  'boolean',
  'choice',
  'choices'
];

// ── previews: what a tool call will do, computed by the kernel ──

/** A JSON value as the kernel sends it. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type JsonObject = Record<string, JsonValue>;

export interface FileWritePreview {
  kind: 'file_write';
  /** As given, relative to the project when inside it. */
  path: string;
  /** Whether the call overwrites an existing file. */
  exists: boolean;
  /** A highlight.js language name, from the file's extension. */
  language: string;
  /** Bytes of the new content. */
  size: number;
  /** The new content, cut to 20,000 characters (`truncated` then). */
  content: string;
  truncated: boolean;
  /** Unified diff against the current file when it exists, else "". */
  diff: string;
}

export interface FileEditPreview {
  kind: 'file_edit';
  path: string;
  language: string;
  /** Unified diff of the edit applied to the current file. */
  diff: string;
  replace_all: boolean;
  /** "" or why the edit will fail. */
  problem: string;
}

export interface BashPreview {
  kind: 'bash';
  command: string;
  cwd: string;
  /** Seconds. */
  timeout: number;
}

export interface McpPreview {
  kind: 'mcp';
  server: string;
  tool: string;
  read_only: boolean;
  arguments: JsonObject;
}

export interface ArgsPreview {
  kind: 'args';
  /** The parsed JSON object, or the raw text when it does not parse. */
  arguments: JsonObject | string;
}

/** An MCP server asks the session's model (`sampling/createMessage`), as a person judges it. */
export interface SamplingPreview {
  kind: 'sampling';
  server: string;
  /** "" when the server gave none. */
  system_prompt: string;
  /** The conversation the model continues (each text cut to 4,000 characters). */
  messages: { role: string; text: string }[];
  /** The most tokens the model may write. */
  max_tokens: number;
  /** The model that answers (the session's). */
  model: string;
}

/** A notebook cell the agent runs (`notebook_run`), as the person judges it. */
export interface NotebookRunPreview {
  kind: 'notebook_run';
  /** Which cell: `a.ipynb cell 3 (id …)`, or a proposal run in the kernel (no front end). */
  path: string;
  /** The code that runs (as the agent read it), cut to 20,000 characters. */
  code: string;
  language: string;
  /** What it would do to existing variables (`would overwrite: df`), as for propose_cell. */
  warnings: string[];
  /** Seconds the run is waited for (0: it runs within the turn, without a front end). */
  timeout: number;
  /** "" or why the run will be refused. */
  problem: string;
}

export type Preview =
  | FileWritePreview
  | FileEditPreview
  | BashPreview
  | McpPreview
  | ArgsPreview
  | SamplingPreview
  | NotebookRunPreview;

/** One field of an MCP server's form (`FormField.to_dict()` of collet_nb/core/elicitation.py). */
export interface FormField {
  /** The key of the answer. */
  name: string;
  type: FieldType;
  /** "" when the schema gives none. */
  title: string;
  description: string;
  required: boolean;
  /** What it takes when left out (null: nothing). */
  default: JsonValue;
  /** The choices of a `choice` or `choices` field. */
  options: { value: string; label: string }[];
  /** Of a string: email, uri, date, date-time or "". */
  format: string;
  /** The least value (numbers), length (strings) or count (choices); null when unlimited. */
  minimum: number | null;
  maximum: number | null;
}

// ── the runtime's events (`Event.to_dict()` of collet_nb/core/events.py) ──

interface EventBase {
  /** "" for events about the session rather than one message. */
  message_id: string;
}

export interface MessageStateEvent extends EventBase {
  type: 'message_state';
  state: MessageState;
  error: string | null;
  /** The message's text (on the first move; "" after). */
  text: string;
}

export interface MessageStatusEvent extends EventBase {
  type: 'message_status';
  status: MessageStatus;
  error: string | null;
  /** The message that retries this failed one ("" when none). */
  retried_by: string;
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

/** A model request failed and is tried again after a wait (the view counts down to `until`). */
export interface RetryWaitEvent extends EventBase {
  type: 'retry_wait';
  /** A few words: "rate limited (HTTP 429)". */
  reason: string;
  /** The whole failure, one line. */
  detail: string;
  wait_s: number;
  /** When the next attempt starts, epoch seconds. */
  until: number;
  /** The attempt that comes next (2 for the first retry), of at most `attempts`. */
  attempt: number;
  attempts: number;
}

/** A running tool call reported progress (an MCP server's notifications/progress). */
export interface ToolProgressEvent extends EventBase {
  type: 'tool_progress';
  call_id: string;
  server: string;
  progress: number;
  total: number | null;
  message: string;
}

export interface ToolCallEvent extends EventBase {
  type: 'tool_call';
  call_id: string;
  name: string;
  /** The raw JSON text. */
  arguments: string;
  /** Null when the kernel made none (it sends `{}` then). */
  preview: Preview | null;
}

export interface ApprovalRequestedEvent extends EventBase {
  type: 'approval_requested';
  call_id: string;
  name: string;
  arguments: string;
  preview: Preview | null;
}

export interface ApprovalResolvedEvent extends EventBase {
  type: 'approval_resolved';
  call_id: string;
  decision: Decision;
  reason: string;
  /** `button`, `command`, `sidebar`, `policy`, `cancel` ("" in old records). */
  by: string;
  /** Epoch seconds (0: unknown). */
  at: number;
  name: string;
  arguments: string;
}

/** An MCP server asks the person: a form of `fields`, or (`mode` url) a link to open. */
export interface ElicitationRequestedEvent extends EventBase {
  type: 'elicitation_requested';
  elicitation_id: string;
  server: string;
  message: string;
  /** `form` or `url`. */
  mode: string;
  /** The link of a URL-mode request ("" for a form). */
  url: string;
  fields: FormField[];
}

export interface ElicitationResolvedEvent extends EventBase {
  type: 'elicitation_resolved';
  elicitation_id: string;
  action: ElicitationAction;
  /** The JSON text sent with `accept` ("" otherwise, and for a link). */
  content: string;
  /** `button`, `command`, `sidebar`, `cancel` (its turn ended), `server` (withdrawn). */
  by: string;
  at: number;
  server: string;
}

export interface ToolResultEvent extends EventBase {
  type: 'tool_result';
  call_id: string;
  name: string;
  content: string;
  is_error: boolean;
  /** Excludes the time spent waiting for a decision. */
  duration_s: number;
  /** Pictures it returned (absent before images were sent: empty). */
  images: ResultImage[];
}

/** A picture a tool returned: base64 `data` of a raster `mime` type. */
export interface ResultImage {
  mime: string;
  data: string;
  source: string;
}

/** The raster types an image part may have; anything else is not shown. */
export const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;

export interface PlanReadyEvent extends EventBase {
  type: 'plan_ready';
  plan: string;
}

export interface PlanResolvedEvent extends EventBase {
  type: 'plan_resolved';
  approved: boolean;
  note: string;
  by: string;
  at: number;
  /** The message that carries an approved plan out ("" when none). */
  follow_up: string;
}

export interface StatusEvent extends EventBase {
  type: 'status';
  iteration: number;
  prompt_tokens: number;
  completion_tokens: number;
  context_used: number;
  context_budget: number;
  /** USD spent so far where every request's price is known; null when not known. */
  cost_usd: number | null;
}

export interface PhaseEvent extends EventBase {
  type: 'phase';
  /** preparing, thinking, streaming, tool, awaiting_approval, compacting, idle. */
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

/** A setting of the session changed (`message_id` is ""). */
export interface SessionEvent extends EventBase {
  type: 'session';
  agent: string;
  provider: string;
  model: string;
  approval: string;
  streaming: string;
  workspace: string;
}

export type Event =
  | MessageStateEvent
  | MessageStatusEvent
  | TextDeltaEvent
  | ReasoningDeltaEvent
  | AnswerResetEvent
  | RetryWaitEvent
  | ToolProgressEvent
  | ToolCallEvent
  | ApprovalRequestedEvent
  | ApprovalResolvedEvent
  | ToolResultEvent
  | ElicitationRequestedEvent
  | ElicitationResolvedEvent
  | PlanReadyEvent
  | PlanResolvedEvent
  | StatusEvent
  | PhaseEvent
  | CompactedEvent
  | TurnFinishedEvent
  | ErrorEvent
  | NoticeEvent
  | SessionEvent;

export type EventType = Event['type'];

/**
 * An event of a type this front end does not know (a newer kernel may add some): it keeps
 * its place in the numbering, and nothing shows it.
 */
export interface UnknownEvent {
  type: 'unknown';
  /** The type the kernel gave it. */
  original: string;
  message_id: string;
}

export type WireEvent = Event | UnknownEvent;

// ── the status snapshot (`collet_nb.status()`), for the sidebar's header ──

export interface MessageSummary {
  id: string;
  text: string;
  state: MessageState;
  status: MessageStatus;
  error: string | null;
}

export interface PendingTool {
  call_id: string;
  name: string;
  arguments: string;
  summary: string;
  message_id: string;
}

export interface PendingElicitation {
  elicitation_id: string;
  server: string;
  message: string;
  mode: string;
  url: string;
  message_id: string;
}

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
  /** What MCP servers ask the person, oldest first. */
  pending_elicitations: PendingElicitation[];
  messages: MessageSummary[];
  iterations: number;
  tokens: { prompt: number; completion: number };
  context: { used: number; budget: number };
  /** USD spent where every request's price is known (genai-prices); null when not known. */
  cost_usd: number | null;
}

// ── kernel → view or sidebar ──

/** Events numbered from `start`, in the receiver's own numbering. */
export interface EventsMessage {
  protocol_version: number;
  type: 'events';
  start: number;
  events: WireEvent[];
}

export interface ReplyMessage {
  protocol_version: number;
  type: 'reply';
  request_id: string | null;
  ok: boolean;
  text: string;
}

/** Sidebar only: a full snapshot. */
export interface StatusMessage {
  protocol_version: number;
  type: 'status';
  status: SessionStatus;
}

/** Sidebar only: a message this sidebar sent has ended; its Markdown transcript. */
export interface TranscriptMessage {
  protocol_version: number;
  type: 'transcript';
  message_id: string;
  markdown: string;
}

export type KernelMessage = EventsMessage | ReplyMessage | StatusMessage | TranscriptMessage;

// ── view or sidebar → kernel ──
// Type aliases, not interfaces: an alias is a JSONObject for comm.send / model.send.

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
export type SyncRequest = {
  protocol_version: number;
  type: 'sync';
  seen: number;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
export type ActionRequest = {
  protocol_version: number;
  type: 'action';
  request_id: string;
  action: ActionName;
  message_id: string;
  call_id?: string;
  text?: string;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
export type HelloRequest = {
  protocol_version: number;
  type: 'hello';
  request_id?: string;
  seen?: number;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
export type SendRequest = {
  protocol_version: number;
  type: 'send';
  request_id: string;
  text: string;
  agent?: AgentKind;
  model?: string;
};

// eslint-disable-next-line @typescript-eslint/consistent-type-definitions -- see above
export type CommandRequest = {
  protocol_version: number;
  type: 'command';
  request_id: string;
  text: string;
};

export type ViewRequest = SyncRequest | ActionRequest;

export type SidebarRequest = HelloRequest | SendRequest | CommandRequest | ActionRequest;

/** The `action` request of a button. */
export function actionRequest(
  request_id: string,
  action: ActionName,
  message_id: string,
  extra: { call_id?: string; text?: string } = {}
): ActionRequest {
  const request: ActionRequest = {
    protocol_version: PROTOCOL_VERSION,
    type: 'action',
    request_id,
    action,
    message_id
  };
  if (extra.call_id !== undefined) {
    request.call_id = extra.call_id;
  }
  if (extra.text !== undefined && extra.text !== '') {
    request.text = extra.text;
  }
  return request;
}

// ── reading what the kernel sends ──

/** Why a kernel message could not be read (shown to the user, never thrown). */
export class ProtocolProblem {
  constructor(readonly reason: string) {}
}

type Json = Record<string, unknown>;

/** Thrown inside the readers only; `readKernelMessage` turns it into a ProtocolProblem. */
class Unreadable extends Error {}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) {
    return 'nothing';
  }
  return Array.isArray(value) ? 'a list' : value === null ? 'null' : `a ${typeof value}`;
}

/** Reads fields of one object, naming it in every complaint. */
class Fields {
  constructor(
    private readonly data: Json,
    private readonly what: string
  ) {}

  private fail(key: string, expected: string): never {
    throw new Unreadable(
      `${this.what}: field "${key}" should be ${expected}, not ${describe(this.data[key])}`
    );
  }

  str(key: string): string {
    const value = this.data[key];
    return typeof value === 'string' ? value : this.fail(key, 'a string');
  }

  strOrNull(key: string): string | null {
    const value = this.data[key];
    return value === null || typeof value === 'string' ? value : this.fail(key, 'a string or null');
  }

  num(key: string): number {
    const value = this.data[key];
    return typeof value === 'number' && Number.isFinite(value) ? value : this.fail(key, 'a number');
  }

  /** A number, or null when absent or null (a field added within protocol 2). */
  numOrNull(key: string): number | null {
    const value = this.data[key];
    if (value === undefined || value === null) {
      return null;
    }
    return typeof value === 'number' && Number.isFinite(value)
      ? value
      : this.fail(key, 'a number or null');
  }

  int(key: string): number {
    const value = this.data[key];
    return Number.isInteger(value) && (value as number) >= 0
      ? (value as number)
      : this.fail(key, 'a whole number ≥ 0');
  }

  bool(key: string): boolean {
    const value = this.data[key];
    return typeof value === 'boolean' ? value : this.fail(key, 'true or false');
  }

  object(key: string): JsonObject {
    const value = this.data[key];
    return isRecord(value) ? (value as JsonObject) : this.fail(key, 'an object');
  }

  /** A list of strings. */
  strings(key: string): string[] {
    const value = this.data[key];
    return Array.isArray(value) && value.every(item => typeof item === 'string')
      ? value
      : this.fail(key, 'a list of strings');
  }

  /** A list of `{mime, data, source}` pictures; absent means none (added within protocol 2). */
  images(key: string): ResultImage[] {
    const value = this.data[key];
    if (value === undefined) {
      return [];
    }
    if (!Array.isArray(value)) {
      return this.fail(key, 'a list of images');
    }
    return value.map((item: unknown, n) => {
      const record: Json = isRecord(item) ? item : {};
      const f = new Fields(record, `${this.what}: ${key}[${n}]`);
      const source = record.source;
      return {
        mime: f.oneOf('mime', IMAGE_TYPES),
        data: f.str('data'),
        source: typeof source === 'string' ? source : ''
      };
    });
  }

  oneOf<T extends string>(key: string, values: readonly T[]): T {
    const value = this.data[key];
    const found = values.find(v => v === value);
    return found ?? this.fail(key, `one of ${values.join(', ')}`);
  }
}

/** A preview, null for `{}` (the kernel made none). */
export function readPreview(value: unknown, what = 'preview'): Preview | null {
  if (!isRecord(value)) {
    throw new Unreadable(`${what} should be an object, not ${describe(value)}`);
  }
  if (Object.keys(value).length === 0) {
    return null;
  }
  const f = new Fields(value, `${what} (${String(value.kind)})`);
  switch (value.kind) {
    case 'file_write':
      return {
        kind: 'file_write',
        path: f.str('path'),
        exists: f.bool('exists'),
        language: f.str('language'),
        size: f.int('size'),
        content: f.str('content'),
        truncated: f.bool('truncated'),
        diff: f.str('diff')
      };
    case 'file_edit':
      return {
        kind: 'file_edit',
        path: f.str('path'),
        language: f.str('language'),
        diff: f.str('diff'),
        replace_all: f.bool('replace_all'),
        problem: f.str('problem')
      };
    case 'bash':
      return {
        kind: 'bash',
        command: f.str('command'),
        cwd: f.str('cwd'),
        timeout: f.num('timeout')
      };
    case 'mcp':
      return {
        kind: 'mcp',
        server: f.str('server'),
        tool: f.str('tool'),
        read_only: f.bool('read_only'),
        arguments: f.object('arguments')
      };
    case 'sampling':
      return {
        kind: 'sampling',
        server: f.str('server'),
        system_prompt: f.str('system_prompt'),
        messages: records(value.messages).map(m => ({
          role: str(m, 'role'),
          text: str(m, 'text')
        })),
        max_tokens: f.int('max_tokens'),
        model: f.str('model')
      };
    case 'notebook_run':
      return {
        kind: 'notebook_run',
        path: f.str('path'),
        code: f.str('code'),
        language: f.str('language'),
        warnings: f.strings('warnings'),
        timeout: f.num('timeout'),
        problem: f.str('problem')
      };
    case 'args': {
      const args = value.arguments;
      if (typeof args === 'string' || isRecord(args)) {
        return { kind: 'args', arguments: args as JsonObject | string };
      }
      throw new Unreadable(
        `${what} (args): field "arguments" should be an object or a string, not ${describe(args)}`
      );
    }
    default:
      throw new Unreadable(`${what}: unknown kind ${JSON.stringify(value.kind)}`);
  }
}

/** A JSON value as it came (anything JSON can hold). */
function jsonValue(value: unknown): JsonValue {
  return value === undefined ? null : (value as JsonValue);
}

/** The fields of a form; a field that cannot be read names itself. */
export function readFields(value: unknown, what = 'fields'): FormField[] {
  if (!Array.isArray(value)) {
    throw new Unreadable(`${what} should be a list, not ${describe(value)}`);
  }
  return value.map((item: unknown, i) => {
    if (!isRecord(item)) {
      throw new Unreadable(`${what} ${i} should be an object, not ${describe(item)}`);
    }
    const f = new Fields(item, `${what} ${i}`);
    const options = item.options;
    if (!Array.isArray(options)) {
      throw new Unreadable(`${what} ${i}: field "options" should be a list`);
    }
    return {
      name: f.str('name'),
      type: f.oneOf('type', FIELD_TYPES),
      title: f.str('title'),
      description: f.str('description'),
      required: f.bool('required'),
      default: jsonValue(item.default),
      options: records(options).map(o => ({ value: str(o, 'value'), label: str(o, 'label') })),
      format: f.str('format'),
      minimum: f.numOrNull('minimum'),
      maximum: f.numOrNull('maximum')
    };
  });
}

/**
 * One event.
 *
 * @returns the typed event, or an UnknownEvent for a type this front end does not know.
 * @throws Unreadable (inside this module) for a known type with a missing or mistyped field.
 */
function readEvent(data: unknown, what: string): WireEvent {
  if (!isRecord(data)) {
    throw new Unreadable(`${what} should be an object, not ${describe(data)}`);
  }
  if (typeof data.type !== 'string') {
    throw new Unreadable(`${what} has no type`);
  }
  const f = new Fields(data, `${what} (${data.type})`);
  const message_id = f.str('message_id');
  switch (data.type) {
    case 'message_state':
      return {
        type: 'message_state',
        message_id,
        state: f.oneOf('state', MESSAGE_STATES),
        error: f.strOrNull('error'),
        text: f.str('text')
      };
    case 'message_status':
      return {
        type: 'message_status',
        message_id,
        status: f.oneOf('status', MESSAGE_STATUSES),
        error: f.strOrNull('error'),
        retried_by: f.str('retried_by')
      };
    case 'text_delta':
    case 'reasoning_delta':
      return { type: data.type, message_id, text: f.str('text') };
    case 'answer_reset':
      return { type: 'answer_reset', message_id, reason: f.str('reason') };
    case 'retry_wait':
      return {
        type: 'retry_wait',
        message_id,
        reason: f.str('reason'),
        detail: f.str('detail'),
        wait_s: f.num('wait_s'),
        until: f.num('until'),
        attempt: f.int('attempt'),
        attempts: f.int('attempts')
      };
    case 'tool_progress':
      return {
        type: 'tool_progress',
        message_id,
        call_id: f.str('call_id'),
        server: f.str('server'),
        progress: f.num('progress'),
        total: f.numOrNull('total'),
        message: f.str('message')
      };
    case 'tool_call':
    case 'approval_requested':
      return {
        type: data.type,
        message_id,
        call_id: f.str('call_id'),
        name: f.str('name'),
        arguments: f.str('arguments'),
        preview: readPreview(data.preview, `${what} (${data.type}): preview`)
      };
    case 'approval_resolved':
      return {
        type: 'approval_resolved',
        message_id,
        call_id: f.str('call_id'),
        decision: f.oneOf('decision', DECISIONS),
        reason: f.str('reason'),
        by: f.str('by'),
        at: f.num('at'),
        name: f.str('name'),
        arguments: f.str('arguments')
      };
    case 'tool_result':
      return {
        type: 'tool_result',
        message_id,
        call_id: f.str('call_id'),
        name: f.str('name'),
        content: f.str('content'),
        is_error: f.bool('is_error'),
        duration_s: f.num('duration_s'),
        images: f.images('images')
      };
    case 'elicitation_requested':
      return {
        type: 'elicitation_requested',
        message_id,
        elicitation_id: f.str('elicitation_id'),
        server: f.str('server'),
        message: f.str('message'),
        mode: f.str('mode'),
        url: f.str('url'),
        fields: readFields(data.fields, `${what} (elicitation_requested): fields`)
      };
    case 'elicitation_resolved':
      return {
        type: 'elicitation_resolved',
        message_id,
        elicitation_id: f.str('elicitation_id'),
        action: f.oneOf('action', ELICITATION_ACTIONS),
        content: f.str('content'),
        by: f.str('by'),
        at: f.num('at'),
        server: f.str('server')
      };
    case 'plan_ready':
      return { type: 'plan_ready', message_id, plan: f.str('plan') };
    case 'plan_resolved':
      return {
        type: 'plan_resolved',
        message_id,
        approved: f.bool('approved'),
        note: f.str('note'),
        by: f.str('by'),
        at: f.num('at'),
        follow_up: f.str('follow_up')
      };
    case 'status':
      return {
        type: 'status',
        message_id,
        iteration: f.int('iteration'),
        prompt_tokens: f.int('prompt_tokens'),
        completion_tokens: f.int('completion_tokens'),
        context_used: f.int('context_used'),
        context_budget: f.int('context_budget'),
        cost_usd: f.numOrNull('cost_usd')
      };
    case 'phase':
      return { type: 'phase', message_id, phase: f.str('phase') };
    case 'compacted':
      return {
        type: 'compacted',
        message_id,
        tokens_before: f.int('tokens_before'),
        tokens_after: f.int('tokens_after'),
        messages_removed: f.int('messages_removed')
      };
    case 'turn_finished':
      return {
        type: 'turn_finished',
        message_id,
        stop_reason: f.str('stop_reason'),
        iterations: f.int('iterations')
      };
    case 'error':
      return { type: 'error', message_id, error: f.str('error'), kind: f.str('kind') };
    case 'notice':
      return { type: 'notice', message_id, text: f.str('text'), level: f.str('level') };
    case 'session':
      return {
        type: 'session',
        message_id,
        agent: f.str('agent'),
        provider: f.str('provider'),
        model: f.str('model'),
        approval: f.str('approval'),
        streaming: f.str('streaming'),
        workspace: f.str('workspace')
      };
    default:
      return { type: 'unknown', original: data.type, message_id };
  }
}

// The snapshot only feeds the sidebar's header: missing fields get neutral values.

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

function pick<T extends string>(values: readonly T[], value: unknown, fallback: T): T {
  return values.find(v => v === value) ?? fallback;
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
    state: pick(SESSION_STATES, data.state, 'idle'),
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
      arguments: str(p, 'arguments'),
      summary: str(p, 'summary'),
      message_id: str(p, 'message_id')
    })),
    pending_elicitations: records(data.pending_elicitations).map(e => ({
      elicitation_id: str(e, 'elicitation_id'),
      server: str(e, 'server'),
      message: str(e, 'message'),
      mode: str(e, 'mode'),
      url: str(e, 'url'),
      message_id: str(e, 'message_id')
    })),
    messages: records(data.messages).map(m => {
      const state = pick(MESSAGE_STATES, m.state, 'queued');
      return {
        id: str(m, 'id'),
        text: str(m, 'text'),
        state,
        status: pick(MESSAGE_STATUSES, m.status, state),
        error: strOrNull(m, 'error')
      };
    }),
    iterations: num(data, 'iterations'),
    tokens: { prompt: num(tokens, 'prompt'), completion: num(tokens, 'completion') },
    context: { used: num(context, 'used'), budget: num(context, 'budget') },
    cost_usd: typeof data.cost_usd === 'number' ? data.cost_usd : null
  };
}

function readEvents(data: Json, version: number): EventsMessage {
  const f = new Fields(data, 'an events message');
  const start = f.int('start');
  if (!Array.isArray(data.events)) {
    throw new Unreadable(
      `an events message: field "events" should be a list, not ${describe(data.events)}`
    );
  }
  const events = data.events.map((event: unknown, i) => readEvent(event, `event ${start + i}`));
  return { protocol_version: version, type: 'events', start, events };
}

/**
 * Read one message from the kernel (a cell view's custom message or the sidebar's comm).
 *
 * @returns the typed message, or a ProtocolProblem saying what is wrong: not an object, another
 *   protocol version, an unknown message type, a missing or mistyped field.
 */
export function readKernelMessage(data: unknown): KernelMessage | ProtocolProblem {
  if (!isRecord(data)) {
    return new ProtocolProblem('the kernel sent a message that is not a JSON object');
  }
  const version = data.protocol_version;
  if (version !== PROTOCOL_VERSION) {
    return new ProtocolProblem(
      `the kernel speaks protocol ${JSON.stringify(version)} and this page speaks ` +
        `${PROTOCOL_VERSION}: install matching versions of collet_nb, then reload the page`
    );
  }
  try {
    switch (data.type) {
      case 'events':
        return readEvents(data, version);
      case 'reply':
        return {
          protocol_version: version,
          type: 'reply',
          request_id: strOrNull(data, 'request_id'),
          ok: data.ok === true,
          text: str(data, 'text')
        };
      case 'status':
        if (!isRecord(data.status)) {
          return new ProtocolProblem('a status message without a status object');
        }
        return { protocol_version: version, type: 'status', status: readStatus(data.status) };
      case 'transcript': {
        const f = new Fields(data, 'a transcript message');
        return {
          protocol_version: version,
          type: 'transcript',
          message_id: f.str('message_id'),
          markdown: f.str('markdown')
        };
      }
      default:
        return new ProtocolProblem(`unknown message type ${JSON.stringify(data.type)}`);
    }
  } catch (error) {
    if (error instanceof Unreadable) {
      return new ProtocolProblem(`the kernel sent what this page cannot read: ${error.message}`);
    }
    throw error;
  }
}
