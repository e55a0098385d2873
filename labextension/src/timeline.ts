/**
 * The DOM of one conversation entry: the user's message, its state, what streamed (answer,
 * reasoning, tool calls, notes) and its error. Answers of ended messages render as Markdown.
 */

import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';

import { isTerminal, stateText } from './conversation';
import type { Entry, TextItem, ToolItem } from './conversation';
import { badge, el } from './dom';

/** Longest tool argument or result text shown inline (the rest is cut, with a note). */
const MAX_TOOL_TEXT = 2_000;

function clip(text: string): string {
  return text.length > MAX_TOOL_TEXT
    ? `${text.slice(0, MAX_TOOL_TEXT)}\n… (${(text.length - MAX_TOOL_TEXT).toLocaleString('en')} more characters)`
    : text;
}

function toolCard(item: ToolItem): HTMLElement {
  const card = el('div', 'tool');
  card.dataset.callId = item.callId;
  card.dataset.stage = item.stage;
  const head = el('div', 'toolHead');
  head.append(el('span', 'toolName', item.name), el('span', 'toolStage', item.stage));
  card.append(head, el('pre', 'toolArgs', clip(item.arguments)));
  if (item.result !== null) {
    const result = el('pre', 'toolResult', clip(item.result));
    if (item.isError) {
      result.classList.add('jp-mod-error');
    }
    card.append(result);
  }
  return card;
}

function textBlock(
  item: TextItem,
  markdown: boolean,
  rendermime: IRenderMimeRegistry | null
): HTMLElement {
  if (item.kind === 'note') {
    return el('div', 'note', item.text);
  }
  if (item.kind === 'reasoning') {
    const details = el('details', 'reasoning');
    details.append(el('summary', '', 'reasoning'), el('div', 'text', item.text));
    return details;
  }
  const block = el('div', 'answer');
  const plain = el('div', 'text', item.text);
  block.append(plain);
  if (markdown && rendermime !== null) {
    void renderMarkdown(block, plain, item.text, rendermime);
  }
  return block;
}

/** Swap the plain text for sanitized Markdown once it has rendered (plain text stays on error). */
async function renderMarkdown(
  block: HTMLElement,
  plain: HTMLElement,
  text: string,
  rendermime: IRenderMimeRegistry
): Promise<void> {
  const renderer = rendermime.createRenderer('text/markdown');
  try {
    await renderer.renderModel(rendermime.createModel({ data: { 'text/markdown': text } }));
  } catch {
    renderer.dispose();
    return;
  }
  if (block.contains(plain)) {
    renderer.node.classList.add(`jp-ColletSidebar-markdown`);
    plain.replaceWith(renderer.node);
  }
}

/**
 * Build the element of `entry`.
 *
 * @param rendermime renders ended answers as Markdown (null: plain text only).
 */
export function entryNode(entry: Entry, rendermime: IRenderMimeRegistry | null): HTMLElement {
  const node = el('div', 'entry');
  node.dataset.messageId = entry.id;
  node.dataset.state = entry.state;
  const head = el('div', 'entryHead');
  head.append(el('code', 'entryId', entry.id), badge(entry.state, stateText(entry.state)));
  node.append(head, el('div', 'user', entry.text));
  const markdown = isTerminal(entry.state);
  const timeline = el('div', 'timeline');
  for (const item of entry.timeline) {
    timeline.append(item.kind === 'tool' ? toolCard(item) : textBlock(item, markdown, rendermime));
  }
  if (entry.timeline.length > 0) {
    node.append(timeline);
  }
  if (entry.error !== null && entry.error !== '') {
    const error = el('div', entry.state === 'cancelled' ? 'note' : 'error', entry.error);
    node.append(error);
  }
  return node;
}
