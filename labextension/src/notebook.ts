/**
 * The agent's notebook tools, front-end side (issue 20): the kernel's `notebook_request`s
 * (read the notebook, replace one cell's source, insert a cell, delete a cell, run a cell)
 * performed on the panel's notebook model, so a change shows at once, undo takes it back and
 * real-time collaboration sees it; each gets a `notebook_reply` (docs/protocol.md, "The
 * notebook through the front end"). A run is handed to a `CellRunner` (panelrun.ts: the
 * notebook's own run action) and answered once the cell has run.
 *
 * Pure over a small structural view of `ISharedNotebook` (unit-tested with fakes); the
 * Connection carries the messages (`serveNotebook` wires a panel to it).
 */

import { PROTOCOL_VERSION } from './protocol';

/** The metadata key that marks a cell the agent changed: `{message_id}`. */
export const AGENT_MARK = 'collet_nb';

/** At most this much text of one output crosses the comm (the kernel cuts further). */
const OUTPUT_CHARS = 20_000;

/** The pictures a run's reply carries at most (what one tool result may give a model). */
const MAX_IMAGES = 8;

/** The raster types a model may take as images, best first. */
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'] as const;

export type NotebookOp = 'read' | 'edit' | 'insert' | 'delete' | 'run';

/** Runs the cell with this id the way the person does; resolves once it has run (true) or
 * could not run (false: no kernel, an interrupt, a restart). */
export type CellRunner = (id: string) => Promise<boolean>;

/** A picture in a run's outputs (base64 `data`), for a model that takes images. */
export interface WireImage {
  mime: string;
  data: string;
}

/** Kernel → front end (collet_nb/ui/notebook_front.py `NotebookRequest`). */
export interface NotebookRequest {
  type: 'notebook_request';
  request_id: string;
  op: NotebookOp;
  cell_id?: string;
  source?: string;
  expected?: string;
  after_id?: string | null;
  cell_type?: 'code' | 'markdown';
  message_id?: string;
}

/** One cell as the kernel reads it. */
export interface WireCell {
  index: number;
  id: string;
  cell_type: string;
  source: string;
  execution_count: number | null;
  outputs: { output_type: string; text: string }[];
  /** The pictures its outputs hold (absent when none), for a model that takes images. */
  images?: WireImage[];
}

/** Front end → kernel. */
export interface NotebookReply {
  protocol_version: number;
  type: 'notebook_reply';
  request_id: string;
  ok: boolean;
  error: string;
  path: string;
  cells?: WireCell[];
  cell?: WireCell;
  /** A run: whether the cell ran, and the pictures its outputs hold. */
  ran?: boolean;
  images?: WireImage[];
}

/** What of an nbformat output this module reads. */
export interface OutputLike {
  output_type: string;
  name?: unknown;
  text?: unknown;
  data?: unknown;
  ename?: unknown;
  evalue?: unknown;
  traceback?: unknown;
}

/** What of a shared cell this module uses (`ISharedCell` of @jupyter/ydoc fits it). */
export interface CellLike {
  readonly id: string;
  readonly cell_type: string;
  getSource(): unknown;
  setSource(value: string): void;
  setMetadata(key: string, value: { message_id: string }): void;
  transact(f: () => void): void;
  readonly execution_count?: number | null;
  getOutputs?(): OutputLike[];
  readonly undoManager?: { stopCapturing(): void } | null;
}

/** What of a shared notebook this module uses (`ISharedNotebook` fits it). */
export interface NotebookLike {
  readonly cells: readonly CellLike[];
  insertCell(
    index: number,
    cell: { cell_type: string; source: string; metadata: { [AGENT_MARK]: { message_id: string } } }
  ): CellLike;
  /** A change on the notebook's own undo stack (the one Z / Ctrl+Z in command mode undo). */
  deleteCell(index: number): void;
  readonly undoManager?: { stopCapturing(): void } | null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A `notebook_request` from the kernel, or why it is not one. */
export function readNotebookRequest(data: unknown): NotebookRequest | string {
  if (!isRecord(data) || data.type !== 'notebook_request') {
    return 'not a notebook request';
  }
  if (typeof data.request_id !== 'string') {
    return 'a notebook request without a request_id';
  }
  const ops: readonly unknown[] = ['read', 'edit', 'insert', 'delete', 'run'];
  if (!ops.includes(data.op)) {
    return `unknown notebook operation ${JSON.stringify(data.op)}`;
  }
  const strings = ['cell_id', 'source', 'expected', 'message_id'] as const;
  for (const key of strings) {
    if (key in data && typeof data[key] !== 'string') {
      return `${key} must be a string`;
    }
  }
  if ('after_id' in data && data.after_id !== null && typeof data.after_id !== 'string') {
    return 'after_id must be a string or null';
  }
  if ('cell_type' in data && data.cell_type !== 'code' && data.cell_type !== 'markdown') {
    return 'cell_type must be code or markdown';
  }
  return data as unknown as NotebookRequest;
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g; // eslint-disable-line no-control-regex

function joined(value: unknown): string {
  if (Array.isArray(value)) {
    return value.map(String).join('');
  }
  return typeof value === 'string' ? value : '';
}

function cut(text: string): string {
  return text.length > OUTPUT_CHARS
    ? `${text.slice(0, OUTPUT_CHARS)}… (${(text.length - OUTPUT_CHARS).toLocaleString('en')} more characters)`
    : text;
}

/** One output as text: streams and `text/plain` as they are, errors with their traceback,
 * anything else (an image, HTML without text) as its type and size. */
export function outputText(output: OutputLike): { output_type: string; text: string } {
  const kind = output.output_type;
  if (kind === 'stream') {
    const name = typeof output.name === 'string' ? output.name : 'stdout';
    return { output_type: kind, text: `${name}: ${cut(joined(output.text))}` };
  }
  if (kind === 'error') {
    const trace = joined(
      Array.isArray(output.traceback) ? output.traceback.map(line => `${String(line)}\n`) : ''
    ).replace(ANSI, '');
    return {
      output_type: kind,
      text: cut(`${String(output.ename)}: ${String(output.evalue)}\n${trace}`.trimEnd())
    };
  }
  const data = isRecord(output.data) ? output.data : {};
  const plain = joined(data['text/plain']);
  const others = Object.keys(data)
    .filter(mime => mime !== 'text/plain')
    .map(mime => `${mime}, ${joined(data[mime]).length.toLocaleString('en')} characters`);
  const parts: string[] = [];
  if (plain) {
    parts.push(cut(plain));
  }
  if (others.length > 0) {
    parts.push(`(also ${others.join('; ')})`);
  }
  return { output_type: kind, text: parts.join('\n') || '(no data)' };
}

/** A cell as the kernel reads it. */
export function wireCell(cell: CellLike, index: number): WireCell {
  const source = cell.getSource();
  const outputs = cell.getOutputs?.() ?? [];
  const images = outputImages(outputs);
  return {
    index,
    id: cell.id,
    cell_type: cell.cell_type,
    source: typeof source === 'string' ? source : JSON.stringify(source),
    execution_count: typeof cell.execution_count === 'number' ? cell.execution_count : null,
    outputs: outputs.map(outputText),
    ...(images.length > 0 ? { images } : {})
  };
}

function where(notebook: NotebookLike, id: string): number {
  return notebook.cells.findIndex(cell => cell.id === id);
}

/** A change of its own on the cell's undo stack (not merged with the person's typing). */
function asOneStep(cell: CellLike, change: () => void): void {
  cell.undoManager?.stopCapturing();
  cell.transact(change);
  cell.undoManager?.stopCapturing();
}

/** The pictures of a cell's outputs (their best raster form), at most `MAX_IMAGES`. */
export function outputImages(outputs: readonly OutputLike[]): WireImage[] {
  const found: WireImage[] = [];
  for (const output of outputs) {
    const data = isRecord(output.data) ? output.data : {};
    const mime = IMAGE_TYPES.find(type => type in data);
    const payload = mime === undefined ? '' : joined(data[mime]).replace(/\s+/g, '');
    if (mime !== undefined && payload && found.length < MAX_IMAGES) {
      found.push({ mime, data: payload });
    }
  }
  return found;
}

function reply(
  request: NotebookRequest,
  path: string,
  fields: Partial<NotebookReply>
): NotebookReply {
  return {
    protocol_version: PROTOCOL_VERSION,
    type: 'notebook_reply',
    request_id: request.request_id,
    ok: true,
    error: '',
    path,
    ...fields
  };
}

/**
 * Perform `request` on `notebook` (null: the panel has no model), running a cell with `run`
 * (null: this front end runs nothing), and say how it went. A run is refused unless the cell
 * is still the code cell the agent read; its reply comes once the cell has run.
 */
/** The cell a request names, still as the agent read it (`expected`): the cell, its index and
 * how it reads now; else why nothing was `done` and what to do (`then`). */
function readCell(
  notebook: NotebookLike,
  request: NotebookRequest,
  done: string,
  then: string
): { cell: CellLike; index: number; wire: WireCell } | string {
  const id = request.cell_id ?? '';
  const index = where(notebook, id);
  const cell = notebook.cells[index];
  if (cell === undefined) {
    return (
      `cell ${id} is no longer in the notebook (the user deleted it?); nothing was ${done}: ` +
      'read the notebook again'
    );
  }
  const wire = wireCell(cell, index);
  if (request.expected !== undefined && wire.source !== request.expected) {
    return (
      `the user changed cell ${index} (id ${id}) since you read it; nothing was ${done}. ` +
      `Its source now:\n${wire.source}\n(${then})`
    );
  }
  return { cell, index, wire };
}

export async function answerNotebookRequest(
  notebook: NotebookLike | null,
  request: NotebookRequest,
  path: string,
  run: CellRunner | null
): Promise<NotebookReply> {
  if (request.op !== 'run' || notebook === null) {
    return answerNotebook(notebook, request, path);
  }
  const refuse = (error: string): NotebookReply => reply(request, path, { ok: false, error });
  const id = request.cell_id ?? '';
  const target = readCell(
    notebook,
    request,
    'run',
    'read the notebook again, then run what is there now'
  );
  if (typeof target === 'string') {
    return refuse(target);
  }
  const { cell, index } = target;
  if (cell.cell_type !== 'code') {
    return refuse(`cell ${index} (id ${id}) is a ${cell.cell_type} cell: only code cells run`);
  }
  if (run === null) {
    return refuse('this front end cannot run cells');
  }
  const ran = await run(id);
  const after = where(notebook, id);
  const done = notebook.cells[after];
  if (done === undefined) {
    return refuse(`cell ${id} was deleted while it ran; its outputs went with it`);
  }
  return reply(request, path, {
    cell: wireCell(done, after),
    ran,
    images: outputImages(done.getOutputs?.() ?? [])
  });
}

/** Perform `request` on `notebook` (null: the panel has no model) and say how it went (a run
 * is refused here: see `answerNotebookRequest`). */
export function answerNotebook(
  notebook: NotebookLike | null,
  request: NotebookRequest,
  path: string
): NotebookReply {
  const answer = (fields: Partial<NotebookReply>): NotebookReply => reply(request, path, fields);
  const refuse = (error: string): NotebookReply => answer({ ok: false, error });
  if (notebook === null) {
    return refuse('the notebook is not open in the front end (no notebook model)');
  }
  const mark = { message_id: request.message_id ?? '' };
  switch (request.op) {
    case 'read':
      return answer({ cells: notebook.cells.map(wireCell) });
    case 'edit': {
      const target = readCell(
        notebook,
        request,
        'edited',
        'read the notebook again, then edit what is there now'
      );
      if (typeof target === 'string') {
        return refuse(target);
      }
      const { cell, index } = target;
      asOneStep(cell, () => {
        cell.setSource(request.source ?? '');
        cell.setMetadata(AGENT_MARK, mark);
      });
      return answer({ cell: wireCell(cell, index) });
    }
    case 'insert': {
      let index = notebook.cells.length;
      if (typeof request.after_id === 'string') {
        const after = where(notebook, request.after_id);
        if (after < 0) {
          return refuse(
            `cell ${request.after_id} is no longer in the notebook; nothing was inserted: ` +
              'read the notebook again'
          );
        }
        index = after + 1;
      }
      const cell = notebook.insertCell(index, {
        cell_type: request.cell_type ?? 'code',
        source: request.source ?? '',
        metadata: { [AGENT_MARK]: mark }
      });
      return answer({ cell: wireCell(cell, index) });
    }
    case 'delete': {
      const target = readCell(
        notebook,
        request,
        'deleted',
        'read the notebook again before deleting it'
      );
      if (typeof target === 'string') {
        return refuse(target);
      }
      const { index, wire: was } = target;
      // A step of its own on the notebook's undo stack (not merged with the person's changes).
      notebook.undoManager?.stopCapturing();
      notebook.deleteCell(index);
      notebook.undoManager?.stopCapturing();
      return answer({ cell: was });
    }
    case 'run':
      return refuse('a run needs the front end’s runner (answerNotebookRequest)');
  }
}
