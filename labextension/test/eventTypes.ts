/** Every event type of docs/protocol.md (version 2), as the tests check them. */

import type { EventType } from '../src/protocol';

const ALL: Record<EventType, true> = {
  message_state: true,
  message_status: true,
  text_delta: true,
  reasoning_delta: true,
  answer_reset: true,
  retry_wait: true,
  tool_progress: true,
  tool_call: true,
  approval_requested: true,
  approval_resolved: true,
  tool_result: true,
  elicitation_requested: true,
  elicitation_resolved: true,
  plan_ready: true,
  plan_resolved: true,
  status: true,
  phase: true,
  compacted: true,
  turn_finished: true,
  error: true,
  notice: true,
  session: true
};

export const EVENT_TYPES: readonly string[] = Object.keys(ALL);
