/** Updates for outputs restored from the file land on the outputs that carry their id. */

import { describe, expect, it } from 'vitest';

import type { INotebookModel } from '@jupyterlab/notebook';

import { METADATA_KEY, applyUpdate } from '../src/restore';

interface FakeOutput {
  metadata: unknown;
  data: unknown;
}

function notebook(...cells: { type: string; outputs?: FakeOutput[] }[]): INotebookModel {
  const models = cells.map(cell => ({
    type: cell.type,
    ...(cell.outputs === undefined
      ? {}
      : {
          outputs: {
            get length() {
              return cell.outputs?.length ?? 0;
            },
            get: (i: number) => cell.outputs?.[i],
            set: (i: number, value: FakeOutput) => {
              if (cell.outputs !== undefined) {
                cell.outputs[i] = value;
              }
            }
          }
        })
  }));
  return {
    cells: { length: models.length, get: (i: number) => models[i] }
  } as unknown as INotebookModel;
}

const ours = (id: string): FakeOutput => ({
  metadata: { [METADATA_KEY]: { display_id: id } },
  data: { 'application/vnd.jupyter.widget-view+json': { model_id: 'w' } }
});

describe('applyUpdate', () => {
  it('replaces every output carrying the display id, and nothing else', () => {
    const first = [ours('collet-m1-a'), { metadata: {}, data: { 'text/plain': 'x' } }];
    const second = [ours('collet-m2-b'), ours('collet-m1-a')];
    const model = notebook(
      { type: 'markdown' },
      { type: 'code', outputs: first },
      {
        type: 'code',
        outputs: second
      }
    );
    const content = {
      data: { 'text/markdown': '*m1 answered*' },
      metadata: { [METADATA_KEY]: { display_id: 'collet-m1-a' } },
      transient: { display_id: 'collet-m1-a' }
    };
    expect(applyUpdate(model, 'collet-m1-a', content)).toBe(2);
    expect(first[0]?.data).toEqual({ 'text/markdown': '*m1 answered*' });
    expect(second[1]?.data).toEqual({ 'text/markdown': '*m1 answered*' });
    expect(first[1]?.data).toEqual({ 'text/plain': 'x' });
    expect(second[0]?.data).toHaveProperty(['application/vnd.jupyter.widget-view+json']);
  });

  it('finds nothing to do for an id no output carries', () => {
    const outputs = [ours('collet-m1-a')];
    expect(
      applyUpdate(notebook({ type: 'code', outputs }), 'collet-m9-z', {
        data: {},
        metadata: {},
        transient: {}
      })
    ).toBe(0);
    expect(outputs[0]?.data).toHaveProperty(['application/vnd.jupyter.widget-view+json']);
  });
});
