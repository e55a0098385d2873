/**
 * The agent's notebook requests performed on a real shared notebook model (@jupyter/ydoc's
 * YNotebook, as JupyterLab holds it): what a read returns, an edit that lands as one undoable
 * step marked with its message, the refusal when the person changed the cell, inserts, deletes
 * (one step on the notebook's undo stack), runs answered once the cell has run (refused when the
 * cell is not the code cell the agent read).
 */

import { describe, expect, it } from 'vitest';

import { YNotebook } from '@jupyter/ydoc';
import type { ISharedCell } from '@jupyter/ydoc';

import {
  AGENT_MARK,
  answerNotebook,
  answerNotebookRequest,
  outputImages,
  outputText,
  readNotebookRequest
} from '../src/notebook';
import type { NotebookReply, NotebookRequest } from '../src/notebook';

function notebook(...sources: string[]): YNotebook {
  const model = YNotebook.create({ disableDocumentWideUndoRedo: true });
  sources.forEach((source, i) => {
    model.insertCell(i, { cell_type: 'code', source, metadata: {}, id: `c${i}` });
  });
  return model;
}

/** Cell `index` of `model` (a test fails loudly when it is missing). */
function at(model: YNotebook, index: number): ISharedCell {
  const cell = model.cells[index];
  if (cell === undefined) {
    throw new Error(`no cell ${index}`);
  }
  return cell;
}

function ask(model: YNotebook, fields: Partial<NotebookRequest>): NotebookReply {
  const request = { type: 'notebook_request', request_id: 'n1', op: 'read', ...fields };
  const read = readNotebookRequest(request);
  if (typeof read === 'string') {
    throw new Error(read);
  }
  return answerNotebook(model, read, 'a.ipynb');
}

describe('notebook requests', () => {
  it('reads every cell with its id, type, source (unsaved included) and outputs', () => {
    const model = notebook('x = 1', '');
    const cell = model.cells[0];
    if (cell?.cell_type === 'code') {
      cell.setOutputs([{ output_type: 'stream', name: 'stdout', text: 'one\ntwo\n' }]);
      cell.execution_count = 3;
    }
    const reply = ask(model, { op: 'read' });
    expect(reply).toMatchObject({ type: 'notebook_reply', request_id: 'n1', ok: true });
    expect(reply.path).toBe('a.ipynb');
    expect(reply.cells).toEqual([
      {
        index: 0,
        id: 'c0',
        cell_type: 'code',
        source: 'x = 1',
        execution_count: 3,
        outputs: [{ output_type: 'stream', text: 'stdout: one\ntwo\n' }]
      },
      { index: 1, id: 'c1', cell_type: 'code', source: '', execution_count: null, outputs: [] }
    ]);
  });

  it('edits a cell as one undoable step, marked with the message', () => {
    const model = notebook('x=1', 'y = 2');
    const cell = at(model, 0);
    cell.setSource('x=1  # typed by the person'); // the person's own step
    const reply = ask(model, {
      op: 'edit',
      cell_id: 'c0',
      expected: 'x=1  # typed by the person',
      source: 'x = 1',
      message_id: 'm4'
    });
    expect(reply.ok).toBe(true);
    expect(reply.cell).toMatchObject({ index: 0, id: 'c0', source: 'x = 1' });
    expect(cell.getMetadata(AGENT_MARK)).toEqual({ message_id: 'm4' });
    cell.undo(); // Ctrl+Z in the cell: the agent's edit goes, the person's typing stays
    expect(cell.getSource()).toBe('x=1  # typed by the person');
    expect(cell.getMetadata(AGENT_MARK)).toBeUndefined();
    expect(at(model, 1).getSource()).toBe('y = 2');
  });

  it('refuses an edit of a cell the person changed since the agent read it', () => {
    const model = notebook('x=1');
    at(model, 0).setSource('x=1  # mine');
    const reply = ask(model, { op: 'edit', cell_id: 'c0', expected: 'x=1', source: 'x = 1' });
    expect(reply.ok).toBe(false);
    expect(reply.error).toContain('the user changed cell 0 (id c0) since you read it');
    expect(reply.error).toContain('x=1  # mine');
    expect(at(model, 0).getSource()).toBe('x=1  # mine');
    expect(at(model, 0).getMetadata(AGENT_MARK)).toBeUndefined();
  });

  it('refuses an edit of a cell that is gone', () => {
    const reply = ask(notebook('x=1'), { op: 'edit', cell_id: 'gone', expected: '', source: '' });
    expect(reply.ok).toBe(false);
    expect(reply.error).toContain('cell gone is no longer in the notebook');
  });

  it('inserts below a cell, or at the end, marked with the message', () => {
    const model = notebook('a', 'b');
    const below = ask(model, {
      op: 'insert',
      after_id: 'c0',
      source: '# notes',
      cell_type: 'markdown',
      message_id: 'm2'
    });
    expect(below.cell).toMatchObject({ index: 1, cell_type: 'markdown', source: '# notes' });
    const last = ask(model, { op: 'insert', after_id: null, source: 'c = 3' });
    expect(last.cell).toMatchObject({ index: 3, cell_type: 'code', source: 'c = 3' });
    expect(model.cells.map(c => c.getSource())).toEqual(['a', '# notes', 'b', 'c = 3']);
    expect(at(model, 1).getMetadata(AGENT_MARK)).toEqual({ message_id: 'm2' });
  });

  it('deletes the cell it names by id after an insert above, as one undoable step', () => {
    const model = notebook('a', 'b', 'c');
    ask(model, { op: 'insert', after_id: 'c0', source: '# inserted above c1' });
    expect(model.cells.map(c => c.getSource())).toEqual(['a', '# inserted above c1', 'b', 'c']);
    const reply = ask(model, { op: 'delete', cell_id: 'c1', expected: 'b', message_id: 'm5' });
    expect(reply.ok).toBe(true);
    expect(reply.cell).toMatchObject({ index: 2, id: 'c1', source: 'b' });
    expect(model.cells.map(c => c.id)).not.toContain('c1');
    expect(model.cells.map(c => c.getSource())).toEqual(['a', '# inserted above c1', 'c']);
    model.undo(); // the notebook's undo (Z / Ctrl+Z in command mode): the cell comes back
    expect(model.cells.map(c => c.getSource())).toEqual(['a', '# inserted above c1', 'b', 'c']);
    expect(at(model, 2).id).toBe('c1');
  });

  it('refuses to delete a cell the person changed since the agent read it, or one gone', () => {
    const model = notebook('x=1', 'y=2');
    at(model, 1).setSource('y=2  # mine');
    const reply = ask(model, { op: 'delete', cell_id: 'c1', expected: 'y=2' });
    expect(reply.ok).toBe(false);
    expect(reply.error).toContain('the user changed cell 1 (id c1) since you read it');
    expect(reply.error).toContain('nothing was deleted');
    expect(reply.error).toContain('y=2  # mine');
    expect(model.cells.map(c => c.getSource())).toEqual(['x=1', 'y=2  # mine']);
    const gone = ask(model, { op: 'delete', cell_id: 'gone', expected: '' });
    expect(gone.ok).toBe(false);
    expect(gone.error).toContain('cell gone is no longer in the notebook');
    expect(model.cells).toHaveLength(2);
  });

  it('says what is wrong with a request it cannot read', () => {
    expect(readNotebookRequest({ type: 'notebook_request', op: 'read' })).toBe(
      'a notebook request without a request_id'
    );
    expect(readNotebookRequest({ type: 'notebook_request', request_id: 'n', op: 'drop' })).toBe(
      'unknown notebook operation "drop"'
    );
    expect(
      answerNotebook(null, { type: 'notebook_request', request_id: 'n', op: 'read' }, '').ok
    ).toBe(false);
  });
});

const PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg==';

function runRequest(fields: Partial<NotebookRequest>): NotebookRequest {
  return { type: 'notebook_request', request_id: 'n7', op: 'run', ...fields };
}

describe('notebook reads', () => {
  it('gives the pictures of a cell with it, and nothing extra for a cell without', () => {
    const model = notebook('x = 1', 'plot()');
    const cell = model.cells[1];
    if (cell?.cell_type === 'code') {
      cell.setOutputs([
        {
          output_type: 'display_data',
          data: { 'text/plain': '<Figure>', 'image/png': PNG },
          metadata: {}
        }
      ]);
    }
    const cells = ask(model, { op: 'read' }).cells ?? [];
    expect(cells[0]?.images).toBeUndefined();
    expect(cells[1]?.images).toEqual([{ mime: 'image/png', data: PNG }]);
  });
});

describe('notebook runs', () => {
  it('runs the code cell the agent read and answers once it ran, with outputs and pictures', async () => {
    const model = notebook('import x', 'plot()');
    const ran: string[] = [];
    const reply = await answerNotebookRequest(
      model,
      runRequest({ cell_id: 'c1', expected: 'plot()', message_id: 'm2' }),
      'a.ipynb',
      async id => {
        ran.push(id);
        await Promise.resolve(); // the kernel answers later
        const cell = model.cells[1];
        if (cell?.cell_type === 'code') {
          cell.execution_count = 4;
          cell.setOutputs([
            { output_type: 'stream', name: 'stdout', text: 'drawn\n' },
            {
              output_type: 'display_data',
              data: {
                'text/plain': '<Figure>',
                'image/png': `${PNG.slice(0, 20)}\n${PNG.slice(20)}`
              },
              metadata: {}
            }
          ]);
        }
        return true;
      }
    );
    expect(ran).toEqual(['c1']);
    expect(reply).toMatchObject({ ok: true, request_id: 'n7', ran: true, path: 'a.ipynb' });
    expect(reply.cell).toMatchObject({ index: 1, id: 'c1', execution_count: 4 });
    expect(reply.cell?.outputs[0]).toEqual({ output_type: 'stream', text: 'stdout: drawn\n' });
    expect(reply.images).toEqual([{ mime: 'image/png', data: PNG }]);
    expect(at(model, 1).getMetadata(AGENT_MARK)).toBeUndefined(); // a run changes no source
  });

  it('refuses to run a cell the person changed, a markdown cell or a cell gone; runs nothing', async () => {
    const model = notebook('x = 1');
    model.insertCell(1, { cell_type: 'markdown', source: '# notes', id: 'md' });
    at(model, 0).setSource('x = 2  # mine');
    const ran: string[] = [];
    const run = (id: string): Promise<boolean> => {
      ran.push(id);
      return Promise.resolve(true);
    };
    const changed = await answerNotebookRequest(
      model,
      runRequest({ cell_id: 'c0', expected: 'x = 1' }),
      '',
      run
    );
    expect(changed.ok).toBe(false);
    expect(changed.error).toContain(
      'the user changed cell 0 (id c0) since you read it; nothing was run'
    );
    const markdown = await answerNotebookRequest(
      model,
      runRequest({ cell_id: 'md', expected: '# notes' }),
      '',
      run
    );
    expect(markdown.error).toBe('cell 1 (id md) is a markdown cell: only code cells run');
    const gone = await answerNotebookRequest(model, runRequest({ cell_id: 'zz' }), '', run);
    expect(gone.error).toContain('cell zz is no longer in the notebook');
    const cannot = await answerNotebookRequest(
      model,
      runRequest({ cell_id: 'c0', expected: 'x = 2  # mine' }),
      '',
      null
    );
    expect(cannot.error).toBe('this front end cannot run cells');
    expect(ran).toEqual([]);
  });

  it('says when a cell was deleted while it ran, or could not run', async () => {
    const model = notebook('slow()');
    const deleted = await answerNotebookRequest(
      model,
      runRequest({ cell_id: 'c0', expected: 'slow()' }),
      '',
      () => {
        model.deleteCell(0);
        return Promise.resolve(true);
      }
    );
    expect(deleted.error).toBe('cell c0 was deleted while it ran; its outputs went with it');
    const again = notebook('slow()');
    const failed = await answerNotebookRequest(
      again,
      runRequest({ cell_id: 'c0', expected: 'slow()' }),
      '',
      () => Promise.resolve(false)
    );
    expect(failed).toMatchObject({ ok: true, ran: false, images: [] });
    // Read, edit, insert and delete need no runner, and a run needs one.
    expect(
      (await answerNotebookRequest(again, { ...runRequest({}), op: 'read' }, '', null)).ok
    ).toBe(true);
    expect(answerNotebook(again, runRequest({ cell_id: 'c0' }), '').ok).toBe(false);
  });

  it('keeps at most eight pictures, raster types only', () => {
    const outputs = Array.from({ length: 10 }, () => ({
      output_type: 'display_data',
      data: { 'image/svg+xml': '<svg/>', 'image/jpeg': '/9j/AA==' }
    }));
    expect(outputImages(outputs)).toHaveLength(8);
    expect(
      outputImages([{ output_type: 'display_data', data: { 'image/svg+xml': '<svg/>' } }])
    ).toEqual([]);
  });
});

describe('outputText', () => {
  it('keeps text, strips colours from tracebacks and sizes what is not text', () => {
    expect(
      outputText({
        output_type: 'error',
        ename: 'ValueError',
        evalue: 'bad',
        traceback: ['\u001b[31mTraceback\u001b[0m', 'ValueError: bad']
      }).text
    ).toBe('ValueError: bad\nTraceback\nValueError: bad');
    expect(
      outputText({
        output_type: 'display_data',
        data: { 'text/plain': '<Figure>', 'image/png': 'iVBORw0KGgo=' }
      }).text
    ).toBe('<Figure>\n(also image/png, 12 characters)');
    expect(outputText({ output_type: 'display_data', data: {} }).text).toBe('(no data)');
  });
});
