/**
 * Runs one cell of a notebook panel the way the person does (issue 20, `notebook_run`): the
 * notebook's own run action (`NotebookActions.runCells`, through the cell executor JupyterLab
 * and Notebook 7 configure), so the cell's `execute_request` joins the kernel's queue like
 * any other and its outputs land in the notebook; the selection stays as it was, and a person
 * typing in another cell keeps typing (the action would leave the notebook in command mode).
 */

import { NotebookActions } from '@jupyterlab/notebook';
import type { NotebookPanel } from '@jupyterlab/notebook';

/** The execution count of a cell's model (null: not a code cell, or never run). */
function countOf(model: { readonly type: string }): number | null {
  const count = (model as { executionCount?: unknown }).executionCount;
  return typeof count === 'number' ? count : null;
}

/** Run the cell with id `id` of `panel`; resolves once it has run, true when it ran (raising
 * or not: the notebook's action says false for an error too), false when it could not run
 * (no kernel, a restart). */
export async function runCellOf(panel: NotebookPanel, id: string): Promise<boolean> {
  const notebook = panel.content;
  const cell = notebook.widgets.find(widget => widget.model.id === id);
  if (cell === undefined) {
    return false;
  }
  const before = countOf(cell.model);
  const mode = notebook.mode;
  const active = notebook.activeCell;
  const running = NotebookActions.runCells(notebook, [cell], panel.sessionContext);
  if (mode === 'edit' && notebook.activeCell === active && active !== cell) {
    notebook.mode = 'edit'; // runCells switched to command mode: give the person's editor back
  }
  const ok = await running;
  const after = countOf(cell.model);
  return ok || (after !== null && after !== before);
}
