/**
 * Shows which cells the agent inserted or edited (issue 20): a cell whose metadata carries the
 * agent's mark (`collet_nb: {message_id}`, set by notebook.ts) gets the class
 * `collet-agent-cell` and a small badge naming the message, in JupyterLab and Notebook 7. The
 * mark lives in the notebook's model, so the badge follows Ctrl+Z (an undone edit takes its
 * mark with it), real-time collaborators and a reopened file.
 */

import type { Notebook, NotebookPanel } from '@jupyterlab/notebook';

import { AGENT_MARK } from './notebook';

type CellModel = Notebook['widgets'][number]['model'];

/** The class of a cell the agent changed. */
export const MARKED = 'collet-agent-cell';
/** The class of its badge. */
export const BADGE = 'collet-cell-mark';

/** The message a cell's mark names (its `collet_nb` metadata), or null when it has none. */
export function markedBy(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return null;
  }
  const id = (value as Record<string, unknown>).message_id;
  return typeof id === 'string' && id !== '' ? id : null;
}

/** Show (or take away) the mark of one cell's node: its class, and its badge at the corner of
 * the cell's input (beside the code it changed, whatever the outputs below). */
export function showMark(node: HTMLElement, messageId: string | null): void {
  const input = node.querySelector<HTMLElement>(':scope > .jp-Cell-inputWrapper') ?? node;
  let badge = input.querySelector<HTMLElement>(`:scope > .${BADGE}`);
  if (messageId === null) {
    node.classList.remove(MARKED);
    badge?.remove();
    return;
  }
  node.classList.add(MARKED);
  if (badge === null) {
    badge = document.createElement('div');
    badge.className = BADGE;
    input.append(badge);
  }
  if (badge.dataset.messageId !== messageId) {
    badge.dataset.messageId = messageId;
    badge.textContent = `collet · ${messageId}`;
    badge.title =
      `The agent inserted or edited this cell in message ${messageId} (its metadata says so: ` +
      `${AGENT_MARK}). Ctrl+Z in the cell undoes an edit.`;
  }
}

/** Keep the marks of `panel`'s cells current (cells added, changed, undone). */
export function followMarks(panel: NotebookPanel): void {
  const notebook = panel.content;
  const watched = new WeakSet<CellModel>();
  let frame = 0;
  const apply = (): void => {
    frame = 0;
    for (const cell of notebook.widgets) {
      const model = cell.model;
      if (!watched.has(model)) {
        watched.add(model);
        model.metadataChanged.connect(schedule);
      }
      showMark(cell.node, markedBy(model.getMetadata(AGENT_MARK)));
    }
  };
  // After the notebook made the widgets of new cells (it does so on the same change).
  function schedule(): void {
    if (frame === 0 && !panel.isDisposed) {
      frame = requestAnimationFrame(apply);
    }
  }
  const follow = (): void => {
    notebook.model?.cells.changed.connect(schedule);
    schedule();
  };
  notebook.modelChanged.connect(follow);
  follow();
}
