/**
 * What the renderer's buttons ask for. Each host implements it by sending `action` requests
 * (docs/protocol.md): a cell's view over its widget, the sidebar over its comm; the kernel
 * records who pressed (`button` or `sidebar`).
 */

import { actionRequest } from '../protocol';
import type { ActionName, ActionRequest, Decision } from '../protocol';

/** The kernel's answer to one request. */
export interface ActionReply {
  ok: boolean;
  text: string;
}

export interface Actions {
  /** Allow once, allow for the session, or deny (with an optional reason) a waiting call. */
  decide(
    messageId: string,
    callId: string,
    decision: Decision,
    reason: string
  ): Promise<ActionReply>;
  /** Approve (with a note) or reject (with a reason) the message's waiting plan. */
  plan(messageId: string, approved: boolean, note: string): Promise<ActionReply>;
  /** Cancel a queued message, or the running one (and the queue behind it). */
  cancel(messageId: string): Promise<ActionReply>;
  /** Send a failed message again. */
  retry(messageId: string): Promise<ActionReply>;
  /** Take a queued message out of the queue. */
  remove(messageId: string): Promise<ActionReply>;
  /**
   * Answer what an MCP server asks: `answer` (`text`: the form's JSON object; fields left out
   * take their defaults), `decline`, or `dismiss` (its Cancel).
   */
  elicit(
    messageId: string,
    elicitationId: string,
    action: ElicitationActionName,
    text: string
  ): Promise<ActionReply>;
}

/** The actions of a server's question. */
export type ElicitationActionName = 'answer' | 'decline' | 'dismiss';

/**
 * Actions made of `action` requests.
 *
 * @param send delivers one request and resolves with its reply.
 * @param nextId a fresh request id.
 */
export function requestActions(
  send: (request: ActionRequest) => Promise<ActionReply>,
  nextId: () => string
): Actions {
  const act = (
    action: ActionName,
    messageId: string,
    extra: { call_id?: string; text?: string } = {}
  ): Promise<ActionReply> => send(actionRequest(nextId(), action, messageId, extra));
  return {
    decide: (messageId, callId, decision, reason) =>
      act(decision, messageId, { call_id: callId, text: reason }),
    plan: (messageId, approved, note) =>
      act(approved ? 'approve' : 'reject', messageId, { text: note }),
    cancel: messageId => act('cancel', messageId),
    retry: messageId => act('retry', messageId),
    remove: messageId => act('remove', messageId),
    elicit: (messageId, elicitationId, action, text) =>
      act(action, messageId, { call_id: elicitationId, text })
  };
}
