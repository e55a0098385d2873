/**
 * What the views say, in words: statuses, decisions, sizes and times. Pure, so both hosts say
 * the same, and the same as the saved transcript (collet_nb/ui/transcript.py).
 */

import type {
  Approval,
  ElicitationAnswer,
  Message,
  PlanDecision,
  RetryWait,
  ToolCard
} from '../conversation';
import type { SessionSettings } from '../conversation';
import type { Decision, MessageStatus, Preview } from '../protocol';

/** The status pill's words (`awaiting_approval` → `awaiting approval`). */
export function statusWord(status: string): string {
  return status.replace(/_/g, ' ');
}

const VERDICTS: Record<Decision, string> = {
  allow_once: 'allowed once',
  allow_session: 'allowed for the session',
  deny: 'denied'
};

/** `allowed once`, `allowed for the session`, `denied`. */
export function verdict(decision: Decision): string {
  return VERDICTS[decision];
}

/** Local `HH:MM` of epoch seconds ("" for 0: unknown). */
export function clock(at: number): string {
  if (!at) {
    return '';
  }
  const date = new Date(at * 1000);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function whoAndWhen(by: string, at: number): string {
  const when = clock(at);
  // A call denied because its message was cancelled was decided by no one.
  const who = by === 'cancel' ? ' when the message was cancelled' : by ? ` by ${by}` : '';
  return who + (when ? ` at ${when}` : '');
}

/** `allowed once by button at 14:02`, with `: reason` when one was given. */
export function decisionLine(approval: Approval): string {
  if (approval.decision === null) {
    return 'waits for your decision';
  }
  const why = approval.reason ? `: ${approval.reason}` : '';
  return `${verdict(approval.decision)}${whoAndWhen(approval.by, approval.at)}${why}`;
}

/** `plan approved by sidebar at 14:02 — note: … ; carried out as m4`. */
export function planLine(decision: PlanDecision): string {
  const verb = decision.approved ? 'approved' : 'rejected';
  const note = decision.note ? ` — ${decision.approved ? 'note' : 'reason'}: ${decision.note}` : '';
  const follow = decision.follow_up ? `; carried out as ${decision.follow_up}` : '';
  return `plan ${verb}${whoAndWhen(decision.by, decision.at)}${note}${follow}`;
}

/** `15 bytes`, `1.2 KB`, `3.4 MB`. */
export function size(bytes: number): string {
  if (bytes < 1024) {
    return `${bytes.toLocaleString('en')} ${bytes === 1 ? 'byte' : 'bytes'}`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `3 lines`. */
export function lines(count: number): string {
  return `${count.toLocaleString('en')} ${count === 1 ? 'line' : 'lines'}`;
}

/** Seconds as `0.12 s`, `3.4 s`, `2 min 5 s`. */
export function seconds(value: number): string {
  if (value < 0.01) {
    return '< 0.01 s';
  }
  if (value < 10) {
    return `${value.toFixed(2)} s`;
  }
  if (value < 60) {
    return `${value.toFixed(1)} s`;
  }
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

/** Lines added and removed by a unified diff (its `---`/`+++` header aside). */
export function diffCounts(diff: string): { added: number; removed: number } {
  let added = 0;
  let removed = 0;
  let header = true;
  for (const line of diff.split('\n')) {
    if (line.startsWith('@@')) {
      header = false;
    } else if (header && (line.startsWith('---') || line.startsWith('+++'))) {
      continue;
    } else if (line.startsWith('+')) {
      added++;
    } else if (line.startsWith('-')) {
      removed++;
    }
  }
  return { added, removed };
}

function counted(diff: string): string {
  const { added, removed } = diffCounts(diff);
  return `+${added} −${removed}`;
}

/** One line saying what a call will do: `overwrites README.md (+2 −0)`. */
export function summary(preview: Preview | null): string {
  if (preview === null) {
    return '';
  }
  switch (preview.kind) {
    case 'file_write':
      return preview.exists
        ? `overwrites ${preview.path} (${preview.diff ? counted(preview.diff) : 'no change'})`
        : `creates ${preview.path} (${size(preview.size)})`;
    case 'file_edit':
      return preview.problem
        ? `edits ${preview.path} (will fail: ${preview.problem})`
        : `edits ${preview.path} (${counted(preview.diff)})`;
    case 'bash':
      return 'runs a command';
    case 'mcp':
      return `calls ${preview.tool} on MCP server ${preview.server}`;
    case 'sampling':
      return `asked by MCP server ${preview.server}`;
    case 'notebook_run':
      if (preview.problem) {
        return `runs ${preview.path} (will fail: ${preview.problem})`;
      }
      return preview.warnings.length > 0
        ? `runs ${preview.path} (${preview.warnings.join('; ')})`
        : `runs ${preview.path}`;
    case 'args':
      return '';
  }
}

const ANSWERS: Record<ElicitationAnswer['action'], string> = {
  accept: 'answered',
  decline: 'declined',
  cancel: 'cancelled'
};

/** `answered by button at 14:02`, `cancelled when its turn ended`. */
export function answerLine(answer: ElicitationAnswer): string {
  const when = clock(answer.at);
  const who =
    answer.by === 'cancel'
      ? ' when its turn ended or was cancelled'
      : answer.by === 'server'
        ? ' by the server (it withdrew the question)'
        : answer.by
          ? ` by ${answer.by}`
          : '';
  return `${ANSWERS[answer.action]}${who}${when ? ` at ${when}` : ''}`;
}

/** Where a tool call stands: what the card's badge says and `data-stage` carries. */
export type Stage = 'awaiting' | 'running' | 'done' | 'failed' | 'denied' | 'not run';

export function stageOf(card: ToolCard, status: MessageStatus): Stage {
  if (card.approval?.pending === true) {
    return 'awaiting';
  }
  const denied = card.approval?.decision === 'deny';
  if (card.result !== null) {
    return denied ? 'denied' : card.result.is_error ? 'failed' : 'done';
  }
  if (denied) {
    return 'denied';
  }
  return status === 'running' || status === 'awaiting_approval' || status === 'awaiting_input'
    ? 'running'
    : 'not run';
}

export const STAGE_WORDS: Record<Stage, string> = {
  awaiting: 'waits for your decision',
  running: 'running',
  done: 'done',
  failed: 'failed',
  denied: 'denied',
  'not run': 'not run'
};

/** Whether Cancel can act on the message: queued, running, or waiting on a tool call or on
 * an answer to a server's question. */
export function canCancel(message: Message): boolean {
  return (
    message.status === 'queued' ||
    message.status === 'running' ||
    message.status === 'awaiting_approval' ||
    message.status === 'awaiting_input'
  );
}

/** Whether Retry can act: the message failed and nothing retries it yet. */
export function canRetry(message: Message): boolean {
  return message.status === 'failed' && message.retriedBy === '';
}

/** How a message ended, or "" while it goes on. */
export function endingLine(message: Message): string {
  switch (message.status) {
    case 'failed': {
      const retry = message.retriedBy ? ` — retried as ${message.retriedBy}` : '';
      return `${message.id} failed: ${message.error ?? 'no reason given'}${retry}`;
    }
    case 'cancelled':
      return `${message.id} cancelled` + (message.error ? `: ${message.error}` : '');
    default:
      return '';
  }
}

/** `agent code · model demo · provider function · approval auto`. */
export function settingsLine(settings: SessionSettings): string {
  return [
    `agent ${settings.agent || 'code'}`,
    `model ${settings.model || '(default)'}`,
    `provider ${settings.provider}`,
    `approval ${settings.approval}`
  ].join(' · ');
}

/** `iteration 2 · context 60 / 128,000` (token counts are the session's: the sidebar says them). */
/** "rate limited (HTTP 429), retrying in 12 s (attempt 2 of 4)", counted down to `until`. */
export function retryLine(retry: RetryWait, nowSeconds: number): string {
  const left = Math.ceil(retry.until - nowSeconds);
  const when = left > 0 ? `retrying in ${left} s` : 'retrying now';
  return `${retry.reason}, ${when} (attempt ${retry.attempt} of ${retry.attempts})`;
}

/** "3 of 10 · indexing", "40 %", or the message alone. */
export function progressLine(progress: NonNullable<ToolCard['progress']>): string {
  const { progress: done, total, message } = progress;
  let amount: string;
  if (total !== null && total > 0) {
    amount =
      total === 100 && done <= 100
        ? `${Math.round(done)} %`
        : `${done.toLocaleString('en')} of ${total.toLocaleString('en')}`;
  } else {
    amount = done > 0 ? done.toLocaleString('en') : '';
  }
  return [amount, message].filter(part => part !== '').join(' · ');
}

/** `$0.0123`: four decimals below a dollar (a request costs fractions of a cent). */
export function money(usd: number): string {
  return usd < 1 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function countersLine(message: Message): string {
  const c = message.counters;
  if (c === null) {
    return '';
  }
  const parts = [`iteration ${c.iteration}`];
  if (c.context_budget > 0) {
    parts.push(
      `context ${c.context_used.toLocaleString('en')} / ${c.context_budget.toLocaleString('en')}`
    );
  }
  return parts.join(' · ');
}
