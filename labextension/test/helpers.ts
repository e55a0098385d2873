/** Shared stand-ins of the TypeScript tests: fixtures, event builders, recorded actions. */

import { Conversation } from '../src/conversation';
import { PROTOCOL_VERSION, ProtocolProblem, readKernelMessage } from '../src/protocol';
import type {
  Decision,
  Event,
  MessageState,
  MessageStatus,
  Preview,
  WireEvent
} from '../src/protocol';
import type { ViewModel } from '../src/cellview';
import type { ViewRequest } from '../src/protocol';
import type { ActionReply, Actions, ElicitationActionName } from '../src/render/actions';

/** A golden fixture: a real run's events and the `collet_nb.status()` snapshot at its end. */
export interface Fixture {
  scenario: string;
  events: unknown[];
  status: {
    messages: {
      id: string;
      text: string;
      state: MessageState;
      status: MessageStatus;
      error: string | null;
    }[];
  };
}

/** Every `test/fixtures/*.json`, by file name. */
export function fixtures(): [string, Fixture][] {
  const files = import.meta.glob<Fixture>('./fixtures/*.json', { eager: true, import: 'default' });
  return Object.entries(files)
    .map(([path, fixture]): [string, Fixture] => [path.replace(/^.*\//, ''), fixture])
    .sort(([a], [b]) => a.localeCompare(b));
}

/** The events of a wire batch, read as the hosts read them (a problem fails the test). */
export function readBatch(start: number, events: readonly unknown[]): WireEvent[] {
  const msg = readKernelMessage({
    protocol_version: PROTOCOL_VERSION,
    type: 'events',
    start,
    events
  });
  if (msg instanceof ProtocolProblem) {
    throw new Error(msg.reason);
  }
  if (msg.type !== 'events') {
    throw new Error(`expected events, got ${msg.type}`);
  }
  return msg.events;
}

/** Replay `events` into a new Conversation, in batches of the given sizes (cycled). */
export function replay(
  events: readonly unknown[],
  sizes: readonly number[] = [events.length || 1],
  overlap = 0
): Conversation {
  const conversation = new Conversation();
  let start = 0;
  let turn = 0;
  while (start < events.length) {
    const size = sizes[turn % sizes.length] ?? 1;
    turn++;
    const from = Math.max(0, start - overlap); // a batch that repeats what was sent before
    const batch = events.slice(from, start + size);
    const outcome = conversation.applyBatch(from, readBatch(from, batch));
    if (outcome.gap) {
      throw new Error(`unexpected gap at ${from}`);
    }
    start += size;
  }
  return conversation;
}

/** Feed typed events (numbered from what was seen) to a conversation. */
export function feed(conversation: Conversation, ...events: Event[]): Conversation {
  conversation.applyBatch(conversation.seen, events);
  return conversation;
}

/** Event builders: the fields docs/protocol.md gives each type. */
export const E = {
  state: (
    message_id: string,
    state: MessageState,
    text = '',
    error: string | null = null
  ): Event => ({
    type: 'message_state',
    message_id,
    state,
    error,
    text
  }),
  status: (
    message_id: string,
    status: MessageStatus,
    retried_by = '',
    error: string | null = null
  ): Event => ({ type: 'message_status', message_id, status, error, retried_by }),
  text: (message_id: string, text: string): Event => ({ type: 'text_delta', message_id, text }),
  reasoning: (message_id: string, text: string): Event => ({
    type: 'reasoning_delta',
    message_id,
    text
  }),
  reset: (message_id: string, reason = 'retried'): Event => ({
    type: 'answer_reset',
    message_id,
    reason
  }),
  tool: (
    message_id: string,
    call_id: string,
    name: string,
    preview: Preview | null = null,
    args = '{}'
  ): Event => ({
    type: 'tool_call',
    message_id,
    call_id,
    name,
    arguments: args,
    preview
  }),
  ask: (
    message_id: string,
    call_id: string,
    name: string,
    preview: Preview | null = null,
    args = '{}'
  ): Event => ({
    type: 'approval_requested',
    message_id,
    call_id,
    name,
    arguments: args,
    preview
  }),
  decide: (
    message_id: string,
    call_id: string,
    decision: Decision,
    by = 'button',
    at = 0,
    reason = '',
    name = 'tool'
  ): Event => ({
    type: 'approval_resolved',
    message_id,
    call_id,
    decision,
    reason,
    by,
    at,
    name,
    arguments: '{}'
  }),
  result: (
    message_id: string,
    call_id: string,
    content: string,
    is_error = false,
    name = 'tool'
  ): Event => ({
    type: 'tool_result',
    message_id,
    call_id,
    name,
    content,
    is_error,
    duration_s: 0.25,
    images: []
  }),
  plan: (message_id: string, plan: string): Event => ({ type: 'plan_ready', message_id, plan }),
  planResolved: (
    message_id: string,
    approved: boolean,
    follow_up = '',
    note = '',
    by = 'button',
    at = 0
  ): Event => ({ type: 'plan_resolved', message_id, approved, note, by, at, follow_up }),
  phase: (message_id: string, phase: string): Event => ({ type: 'phase', message_id, phase }),
  notice: (message_id: string, text: string, level = 'warning'): Event => ({
    type: 'notice',
    message_id,
    text,
    level
  })
};

/** A running message `id` with text `text`, as the runtime starts one. */
export function running(id: string, text = 'do it'): Event[] {
  return [
    E.state(id, 'queued', text),
    E.status(id, 'queued'),
    E.state(id, 'running'),
    E.status(id, 'running')
  ];
}

/** Actions that record what was asked, and answer with `reply`. */
export class RecordingActions implements Actions {
  readonly calls: unknown[][] = [];
  reply: ActionReply = { ok: true, text: 'ok' };

  private _record(...call: unknown[]): Promise<ActionReply> {
    this.calls.push(call);
    return Promise.resolve(this.reply);
  }

  decide(
    messageId: string,
    callId: string,
    decision: Decision,
    reason: string
  ): Promise<ActionReply> {
    return this._record('decide', messageId, callId, decision, reason);
  }

  plan(messageId: string, approved: boolean, note: string): Promise<ActionReply> {
    return this._record('plan', messageId, approved, note);
  }

  cancel(messageId: string): Promise<ActionReply> {
    return this._record('cancel', messageId);
  }

  retry(messageId: string): Promise<ActionReply> {
    return this._record('retry', messageId);
  }

  remove(messageId: string): Promise<ActionReply> {
    return this._record('remove', messageId);
  }

  elicit(
    messageId: string,
    elicitationId: string,
    action: ElicitationActionName,
    text: string
  ): Promise<ActionReply> {
    return this._record('elicit', messageId, elicitationId, action, text);
  }
}

/** The texts of the elements matching `selector` under `root`. */
export function texts(root: ParentNode, selector: string): string[] {
  return [...root.querySelectorAll(selector)].map(node => node.textContent);
}

/** The labels of the buttons under `root`. */
export function buttons(root: ParentNode): string[] {
  return texts(root, 'button');
}

type Handler = (content: unknown, buffers?: unknown) => void;

/** anywidget's model, as far as a view uses it: traits, custom messages both ways. */
export class FakeModel implements ViewModel {
  readonly sent: ViewRequest[] = [];
  readonly handlers = new Set<Handler>();

  constructor(
    private readonly _traits: Record<string, unknown> = { message_id: 'm1', protocol_version: 2 }
  ) {}

  get(name: string): unknown {
    return this._traits[name];
  }

  on(_event: 'msg:custom', callback: Handler): void {
    this.handlers.add(callback);
  }

  off(_event: 'msg:custom', callback: Handler): void {
    this.handlers.delete(callback);
  }

  send(content: ViewRequest): void {
    this.sent.push(content);
  }

  /** The kernel sends `content` to every view of the widget. */
  emit(content: unknown): void {
    for (const handler of this.handlers) {
      handler(content, []);
    }
  }

  /** An `events` batch, as the kernel words it (a missing preview is `{}` on the wire). */
  events(start: number, events: readonly unknown[]): void {
    const wire = events.map(event =>
      typeof event === 'object' && event !== null && 'preview' in event && event.preview === null
        ? { ...event, preview: {} }
        : event
    );
    this.emit({ protocol_version: 2, type: 'events', start, events: wire });
  }
}
