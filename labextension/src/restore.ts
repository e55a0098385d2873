/**
 * Keeps a `%collet` output current after the page was reloaded while its kernel lived on.
 *
 * JupyterLab (and Notebook 7) remember which output shows which display id only in memory:
 * an output restored from the file has lost its id, so the kernel's `update_display_data` for
 * it (a decision, the end of the message) lands nowhere, and the saved file keeps the live
 * view and a stale "running" line. The kernel also writes the id into the output's metadata
 * (`collet_nb.display_id`, collet_nb/ui/output.py); an update for an id this page never
 * displayed itself is applied here to the outputs that carry it.
 */

import type { ISessionContext } from '@jupyterlab/apputils';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { KernelMessage } from '@jupyterlab/services';

/** The prefix of the display ids the kernel gives message outputs. */
const PREFIX = 'collet-';

/** The metadata key under which an output carries its display id. */
export const METADATA_KEY = 'collet_nb';

type Bundle = KernelMessage.IDisplayDataMsg['content'];

/** The part of a code cell's output list used here. */
interface Outputs {
  readonly length: number;
  get(index: number): { readonly metadata: unknown };
  set(
    index: number,
    output: { output_type: 'display_data'; data: Bundle['data']; metadata: Bundle['metadata'] }
  ): void;
}

function displayId(content: { transient?: unknown }): string | null {
  const transient = content.transient;
  if (typeof transient !== 'object' || transient === null) {
    return null;
  }
  const id = (transient as Record<string, unknown>).display_id;
  return typeof id === 'string' && id.startsWith(PREFIX) ? id : null;
}

function carries(metadata: unknown, id: string): boolean {
  if (typeof metadata !== 'object' || metadata === null) {
    return false;
  }
  const ours = (metadata as Record<string, unknown>)[METADATA_KEY];
  return (
    typeof ours === 'object' && ours !== null && (ours as Record<string, unknown>).display_id === id
  );
}

/**
 * Applies `content` to every output of `model` that carries display id `id`; how many.
 * Code cells only: nothing else has outputs.
 */
export function applyUpdate(model: INotebookModel, id: string, content: Bundle): number {
  let applied = 0;
  for (let c = 0; c < model.cells.length; c++) {
    const cell = model.cells.get(c);
    if (cell.type !== 'code' || !('outputs' in cell)) {
      continue;
    }
    const outputs = (cell as unknown as { outputs: Outputs }).outputs;
    for (let i = 0; i < outputs.length; i++) {
      if (carries(outputs.get(i).metadata, id)) {
        outputs.set(i, {
          output_type: 'display_data',
          data: content.data,
          metadata: content.metadata
        });
        applied++;
      }
    }
  }
  return applied;
}

/**
 * Follows one notebook's kernel messages for as long as the notebook is open. Ids this page
 * displayed itself are JupyterLab's to update (it does, even after their cell finished).
 */
export function followDisplays(context: ISessionContext, model: () => INotebookModel | null): void {
  const shown = new Set<string>();
  context.iopubMessage.connect((_context, msg) => {
    const type = msg.header.msg_type;
    if (type !== 'display_data' && type !== 'update_display_data') {
      return;
    }
    const content = msg.content as unknown as Bundle;
    const id = displayId(content);
    if (id === null) {
      return;
    }
    if (type === 'display_data') {
      shown.add(id);
      return;
    }
    const notebook = model();
    if (!shown.has(id) && notebook !== null) {
      applyUpdate(notebook, id, content);
    }
  });
}
