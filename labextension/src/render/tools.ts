/**
 * A tool call's card: what it will do (by its preview's kind: a file written or edited, a
 * command, an MCP tool, plain arguments), its approval — buttons while it waits, then who
 * decided what and when — and its result.
 */

import type { ToolCard } from '../conversation';
import type {
  ArgsPreview,
  BashPreview,
  Decision,
  FileEditPreview,
  FileWritePreview,
  JsonValue,
  McpPreview,
  NotebookRunPreview,
  MessageStatus,
  ResultImage,
  SamplingPreview
} from '../protocol';
import { IMAGE_TYPES } from '../protocol';
import type { Actions } from './actions';
import { box, button, fold, h } from './dom';
import { codeBlock, diffBlock } from './markdown';
import {
  STAGE_WORDS,
  decisionLine,
  lines,
  progressLine,
  seconds,
  size,
  stageOf,
  summary,
  verdict
} from './words';

/** Content longer than this many lines starts folded (its size on the fold). */
export const FOLD_LINES = 24;
/** A result this short shows inline; longer ones are folded. */
const SHORT_RESULT = 160;
/** Longest value shown in an arguments table cell. */
const MAX_VALUE = 2_000;

function lineCount(text: string): number {
  return text === '' ? 0 : text.replace(/\n$/, '').split('\n').length;
}

/** Code, folded with its size when long. */
function content(code: string, language: string, what: string, bytes?: number): HTMLElement {
  const count = lineCount(code);
  const label = `${what} · ${lines(count)} · ${size(bytes ?? new TextEncoder().encode(code).length)}`;
  if (count > FOLD_LINES) {
    return fold('fold', label, () => codeBlock(code, language));
  }
  return box('div', 'section', [h('div', 'label', label), codeBlock(code, language)]);
}

function fileWrite(preview: FileWritePreview): HTMLElement[] {
  const parts: HTMLElement[] = [];
  const cut = preview.truncated
    ? h(
        'div',
        'hint',
        `only the first ${preview.content.length.toLocaleString('en')} characters are shown`
      )
    : null;
  if (preview.exists) {
    parts.push(
      preview.diff
        ? box('div', 'section', [
            h('div', 'label', 'changes to the current file'),
            diffBlock(preview.diff)
          ])
        : h('div', 'hint', 'the new content is the same as the current file')
    );
    const folded = fold('fold', `new content · ${size(preview.size)}`, () =>
      codeBlock(preview.content, preview.language)
    );
    if (cut !== null) {
      folded.append(cut);
    }
    parts.push(folded);
  } else {
    parts.push(content(preview.content, preview.language, 'content', preview.size));
    if (cut !== null) {
      parts.push(cut);
    }
  }
  return parts;
}

function fileEdit(preview: FileEditPreview): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (preview.problem) {
    parts.push(h('div', 'problem', `will fail: ${preview.problem}`));
  }
  if (preview.diff) {
    parts.push(diffBlock(preview.diff));
  }
  return parts;
}

function bash(preview: BashPreview): HTMLElement[] {
  return [
    codeBlock(preview.command, 'bash'),
    h('div', 'hint', `in ${preview.cwd} · timeout ${preview.timeout.toLocaleString('en')} s`)
  ];
}

function valueText(value: JsonValue): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 1);
  return text.length > MAX_VALUE
    ? `${text.slice(0, MAX_VALUE)}… (${(text.length - MAX_VALUE).toLocaleString('en')} more characters)`
    : text;
}

/** Arguments as a small key/value table. */
export function argsTable(args: Record<string, JsonValue>): HTMLElement {
  const keys = Object.keys(args);
  if (keys.length === 0) {
    return h('div', 'hint', 'no arguments');
  }
  const table = h('table', 'kv');
  for (const key of keys) {
    const row = document.createElement('tr');
    const value = args[key];
    row.append(h('th', '', key), h('td', '', value === undefined ? '' : valueText(value)));
    table.append(row);
  }
  return table;
}

/** A cell the agent runs: what it would do to existing variables, the code, how long. */
function notebookRun(preview: NotebookRunPreview): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (preview.problem) {
    parts.push(h('div', 'problem', `will fail: ${preview.problem}`));
  }
  for (const warning of preview.warnings) {
    parts.push(h('div', 'warning', warning));
  }
  if (preview.code) {
    parts.push(codeBlock(preview.code, preview.language));
  }
  const waits =
    preview.timeout > 0
      ? `runs in the kernel as if you ran it · waited for up to ${preview.timeout.toLocaleString('en')} s`
      : 'runs in the kernel from this turn · its output shows here only';
  parts.push(h('div', 'hint', waits));
  return parts;
}

function mcp(preview: McpPreview): HTMLElement[] {
  return [argsTable(preview.arguments)];
}

/** What a server asks the model: its system prompt, each message, the cap and the model. */
function sampling(preview: SamplingPreview): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (preview.system_prompt !== '') {
    parts.push(
      box('div', 'sample-msg', [
        h('div', 'label', 'system prompt'),
        h('pre', 'raw', preview.system_prompt)
      ])
    );
  }
  for (const message of preview.messages) {
    const node = box('div', 'sample-msg', [
      h('div', 'label', message.role),
      h('pre', 'raw', message.text)
    ]);
    node.dataset.role = message.role;
    parts.push(node);
  }
  const model = preview.model || 'the session’s model';
  parts.push(
    h(
      'div',
      'hint',
      `up to ${preview.max_tokens.toLocaleString('en')} tokens · answered by ${model} · ` +
        'counted in /cost'
    )
  );
  return parts;
}

function args(preview: ArgsPreview): HTMLElement[] {
  return [
    typeof preview.arguments === 'string'
      ? h('pre', 'raw', preview.arguments)
      : argsTable(preview.arguments)
  ];
}

/** The raw arguments, when the kernel sent no preview. */
function rawArgs(text: string): HTMLElement[] {
  try {
    const parsed: unknown = JSON.parse(text || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      return [argsTable(parsed as Record<string, JsonValue>)];
    }
  } catch {
    // not JSON: shown as it is
  }
  return [h('pre', 'raw', text)];
}

function previewParts(card: ToolCard): HTMLElement[] {
  const preview = card.preview;
  if (preview === null) {
    return rawArgs(card.arguments);
  }
  switch (preview.kind) {
    case 'file_write':
      return fileWrite(preview);
    case 'file_edit':
      return fileEdit(preview);
    case 'bash':
      return bash(preview);
    case 'mcp':
      return mcp(preview);
    case 'sampling':
      return sampling(preview);
    case 'notebook_run':
      return notebookRun(preview);
    case 'args':
      return args(preview);
  }
}

function head(card: ToolCard, stageWord: string): HTMLElement {
  const preview = card.preview;
  const parts: (Node | null)[] = [];
  if (preview?.kind === 'mcp') {
    parts.push(
      h('span', 'tool-name', preview.tool),
      h('span', 'tool-summary', `on MCP server ${preview.server}`)
    );
    if (preview.read_only) {
      parts.push(h('span', 'badge', 'read-only'));
    }
  } else if (preview?.kind === 'sampling') {
    parts.push(
      h('span', 'tool-name', 'sampling'),
      h('span', 'tool-summary', `MCP server ${preview.server} asks the model`)
    );
  } else {
    parts.push(h('span', 'tool-name', card.name));
    const said = summary(preview);
    if (said) {
      parts.push(h('span', 'tool-summary', said));
    }
    if (preview?.kind === 'file_edit' && preview.replace_all) {
      parts.push(h('span', 'badge', 'replace all'));
    }
  }
  parts.push(h('span', 'stage', stageWord));
  return box('div', 'tool-head', parts);
}

/** A picture a tool returned, as an <img> of its data URL (raster types only: an SVG could
 * carry script). */
function picture(image: ResultImage): HTMLElement | null {
  if (!(IMAGE_TYPES as readonly string[]).includes(image.mime)) {
    return null;
  }
  const img = h('img', 'picture');
  img.src = `data:${image.mime};base64,${image.data}`;
  img.alt = image.source ? `image from ${image.source}` : 'image';
  img.loading = 'lazy';
  return img;
}

function result(card: ToolCard): HTMLElement | null {
  const res = card.result;
  if (res === null) {
    return null;
  }
  const label = res.is_error ? 'error' : 'result';
  const took = res.duration_s > 0 ? ` · ${seconds(res.duration_s)}` : '';
  const text = res.content;
  const pictures = res.images.map(picture).filter((p): p is HTMLElement => p !== null);
  let node: HTMLElement;
  if (text.length <= SHORT_RESULT && !text.includes('\n')) {
    const shown = text || (pictures.length > 0 ? '' : '(empty)');
    node = box('div', 'result', [h('span', 'label', `${label}${took}: `), shown]);
  } else {
    node = fold(
      'result',
      `${label} · ${lines(lineCount(text))} · ${text.length.toLocaleString('en')} characters${took}`,
      () => h('pre', 'raw', text)
    );
  }
  node.classList.toggle('collet-is-error', res.is_error);
  // Outside the fold: a picture is what the person looks for first.
  return pictures.length > 0
    ? box('div', 'result-pictures', [node, box('div', 'pictures', pictures)])
    : node;
}

/** The Allow once / Allow for session / Deny row of a waiting call. */
function pendingBox(messageId: string, card: ToolCard, actions: Actions): HTMLElement {
  const reason = h('input', 'reason');
  reason.type = 'text';
  reason.placeholder = 'reason for Deny (optional; the model reads it)';
  reason.setAttribute('aria-label', `Why ${card.name} is denied`);
  const said = h('div', 'reply');
  const buttons: HTMLButtonElement[] = [];
  const decide = (decision: Decision): void => {
    for (const b of buttons) {
      b.disabled = true;
    }
    said.textContent = `${verdict(decision)}…`;
    void actions
      .decide(messageId, card.callId, decision, decision === 'deny' ? reason.value.trim() : '')
      .then(reply => {
        if (!reply.ok) {
          said.textContent = reply.text;
          said.classList.add('collet-is-error');
          for (const b of buttons) {
            b.disabled = false;
          }
        }
      });
  };
  buttons.push(
    button(
      'Allow once',
      () => {
        decide('allow_once');
      },
      { kind: 'accept' }
    ),
    button(
      'Allow for session',
      () => {
        decide('allow_session');
      },
      {
        title: `Allow ${card.name} without asking again in this session`
      }
    ),
    button(
      'Deny',
      () => {
        decide('deny');
      },
      { kind: 'warn' }
    )
  );
  reason.addEventListener('keydown', event => {
    if (event.key === 'Enter' && !event.isComposing) {
      event.preventDefault();
      decide('deny');
    }
  });
  const preview = card.preview;
  const ask =
    preview?.kind === 'sampling'
      ? `Let MCP server ${preview.server} use the model ` +
        `(up to ${preview.max_tokens.toLocaleString('en')} tokens)?`
      : `Allow ${card.name}?`;
  return box('div', 'approval', [
    h('div', 'ask', ask),
    box('div', 'buttons', [...buttons, reason]),
    said
  ]);
}

/** The card of one tool call in message `messageId` (whose status is `status`). */
export function toolCardNode(
  messageId: string,
  card: ToolCard,
  status: MessageStatus,
  actions: Actions
): HTMLElement {
  const stage = stageOf(card, status);
  const node = h('div', 'tool');
  node.dataset.stage = stage;
  node.dataset.tool = card.name;
  if (card.preview !== null) {
    node.dataset.preview = card.preview.kind;
  }
  node.append(head(card, STAGE_WORDS[stage]));
  node.append(box('div', 'preview', previewParts(card)));
  const approval = card.approval;
  if (approval?.pending === true) {
    node.append(pendingBox(messageId, card, actions));
  } else if (approval !== null) {
    const line = h('div', 'decision', decisionLine(approval));
    line.dataset.decision = approval.decision ?? '';
    node.append(line);
  }
  const res = result(card);
  if (res !== null) {
    node.append(res);
  } else if (card.progress !== null) {
    const line = h('div', 'progress', progressLine(card.progress));
    const { progress, total } = card.progress;
    if (total !== null && total > 0) {
      const bar = h('progress', 'bar');
      bar.max = total;
      bar.value = Math.min(progress, total);
      line.prepend(bar);
    }
    node.append(line);
  }
  return node;
}
