/**
 * Interleaved person / agent edits of one notebook (issue 20), as properties over random
 * sequences (fast-check), on the real shared model JupyterLab holds (@jupyter/ydoc):
 *
 * - in one front end, no cell content is lost: an agent's edit, delete or run happens exactly
 *   when the cell is still what the agent last read (otherwise it is refused and nothing
 *   changes), so nothing the person wrote is overwritten or deleted unseen; every insert adds
 *   exactly one cell, right where it was asked; no id is ever duplicated;
 * - with real-time collaboration (the person on one replica, the agent's front end on
 *   another, updates delivered late and in any order), both replicas converge to the same
 *   cells, each cell inserted by either side exists once (or not at all once deleted), and
 *   text the person typed into a cell the agent edited concurrently survives the merge.
 */

import { describe, expect, it } from 'vitest';

import fc from 'fast-check';
import { YNotebook } from '@jupyter/ydoc';
import * as Y from 'yjs';

import { answerNotebook, answerNotebookRequest } from '../src/notebook';
import type { NotebookRequest } from '../src/notebook';

/** One step: who does what (indices are taken modulo the cells there are). */
type Step =
  | { who: 'person'; op: 'type'; at: number; text: string }
  | { who: 'person'; op: 'insert'; at: number; text: string }
  | { who: 'person'; op: 'delete'; at: number }
  | { who: 'agent'; op: 'read' }
  | { who: 'agent'; op: 'edit'; at: number; text: string }
  | { who: 'agent'; op: 'insert'; at: number; text: string }
  | { who: 'agent'; op: 'delete'; at: number }
  | { who: 'agent'; op: 'run'; at: number };

const word = fc.stringMatching(/^[a-z]{1,4}$/);
const index = fc.nat({ max: 12 });

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    who: fc.constant('person' as const),
    op: fc.constant('type' as const),
    at: index,
    text: word
  }),
  fc.record({
    who: fc.constant('person' as const),
    op: fc.constant('insert' as const),
    at: index,
    text: word
  }),
  fc.record({ who: fc.constant('person' as const), op: fc.constant('delete' as const), at: index }),
  fc.record({ who: fc.constant('agent' as const), op: fc.constant('read' as const) }),
  fc.record({
    who: fc.constant('agent' as const),
    op: fc.constant('edit' as const),
    at: index,
    text: word
  }),
  fc.record({
    who: fc.constant('agent' as const),
    op: fc.constant('insert' as const),
    at: index,
    text: word
  }),
  fc.record({ who: fc.constant('agent' as const), op: fc.constant('delete' as const), at: index }),
  fc.record({ who: fc.constant('agent' as const), op: fc.constant('run' as const), at: index })
);

function newNotebook(ydoc?: Y.Doc): YNotebook {
  return ydoc === undefined
    ? YNotebook.create({ disableDocumentWideUndoRedo: true })
    : // A replica over another document (the constructor takes it; its type does not say so).
      new YNotebook({ ydoc, disableDocumentWideUndoRedo: true } as unknown as ConstructorParameters<
        typeof YNotebook
      >[0]);
}

function cellsOf(model: YNotebook): { id: string; source: string }[] {
  return model.cells.map(cell => ({ id: cell.id, source: cell.getSource() }));
}

let counter = 0;
function request(fields: Partial<NotebookRequest>): NotebookRequest {
  counter += 1;
  return { type: 'notebook_request', request_id: `n${counter}`, op: 'read', ...fields };
}

describe('interleaved person and agent edits in one front end', () => {
  it('lose no cell content: the agent changes only what it read, inserts exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(word, { minLength: 1, maxLength: 4 }),
        fc.array(step, { maxLength: 40 }),
        async (start, steps) => {
          const model = newNotebook();
          start.forEach((source, i) =>
            model.insertCell(i, { cell_type: 'code', source, metadata: {}, id: `s${i}` })
          );
          // What the notebook must hold: every change the person made, and the agent's where allowed.
          let expected = cellsOf(model);
          const seen = new Map<string, string>(); // the agent's last read, by id
          let made = 0;
          for (const s of steps) {
            const n = model.cells.length;
            const target =
              n > 0 ? model.cells[s.who === 'agent' && s.op === 'read' ? 0 : s.at % n] : undefined;
            if (s.who === 'person') {
              if (s.op === 'type' && target !== undefined) {
                const end = target.getSource().length;
                target.updateSource(end, end, s.text); // typing at the end of the cell
              } else if (s.op === 'insert') {
                made += 1;
                model.insertCell(s.at % (n + 1), {
                  cell_type: 'code',
                  source: s.text,
                  metadata: {},
                  id: `p${made}`
                });
              } else if (s.op === 'delete' && target !== undefined) {
                model.deleteCell(s.at % n);
              }
              expected = cellsOf(model); // the person's changes always stand
              continue;
            }
            if (s.op === 'read') {
              const reply = answerNotebook(model, request({ op: 'read' }), 'p.ipynb');
              seen.clear();
              for (const cell of reply.cells ?? []) {
                seen.set(cell.id, cell.source);
              }
              continue;
            }
            if (s.op === 'insert') {
              const after = target === undefined ? null : target.id;
              const reply = answerNotebook(
                model,
                request({ op: 'insert', after_id: after, source: s.text, message_id: 'm1' }),
                ''
              );
              expect(reply.ok).toBe(true);
              const at =
                after === null ? expected.length : expected.findIndex(c => c.id === after) + 1;
              expected.splice(at, 0, { id: reply.cell?.id ?? '?', source: s.text });
              expect(cellsOf(model)).toEqual(expected);
              continue;
            }
            // The kernel changes or runs only a cell the agent read, sending what it read.
            const read = target === undefined ? undefined : seen.get(target.id);
            if (target === undefined || read === undefined) {
              continue;
            }
            const op = s.op;
            const id = target.id; // a deleted cell no longer knows its id
            const fields: Partial<NotebookRequest> = {
              op,
              cell_id: id,
              expected: read,
              message_id: 'm1'
            };
            if (op === 'edit') {
              fields.source = s.text;
            }
            const reply = await answerNotebookRequest(model, request(fields), '', () =>
              Promise.resolve(true)
            );
            // Done exactly when the cell is still what the agent read; refused otherwise.
            expect(reply.ok).toBe(read === expected.find(c => c.id === id)?.source);
            if (reply.ok && op === 'edit') {
              expected = expected.map(c => (c.id === id ? { id, source: s.text } : c));
              seen.set(id, s.text);
            } else if (reply.ok && op === 'delete') {
              expected = expected.filter(c => c.id !== id);
            }
            expect(cellsOf(model)).toEqual(expected);
          }
          const ids = model.cells.map(c => c.id);
          expect(new Set(ids).size).toBe(ids.length);
        }
      ),
      { numRuns: 300 }
    );
  });
});

describe('interleaved edits under real-time collaboration', () => {
  it('converge with no duplicated or lost cell, and keep text typed concurrently', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(step, fc.boolean(), fc.nat({ max: 5 })), { maxLength: 40 }),
        steps => {
          const person = newNotebook();
          person.insertCell(0, { cell_type: 'code', source: 'a', metadata: {}, id: 's0' });
          const agent = newNotebook(new Y.Doc());
          Y.applyUpdate(agent.ydoc, Y.encodeStateAsUpdate(person.ydoc));
          // Updates in flight, each way; a random number is delivered after each step.
          const toAgent: Uint8Array[] = [];
          const toPerson: Uint8Array[] = [];
          person.ydoc.on('update', (update: Uint8Array, origin: unknown) => {
            if (origin !== 'remote') toAgent.push(update);
          });
          agent.ydoc.on('update', (update: Uint8Array, origin: unknown) => {
            if (origin !== 'remote') toPerson.push(update);
          });
          const deliver = (count: number): void => {
            for (let i = 0; i < count; i++) {
              const a = toAgent.shift();
              if (a !== undefined) Y.applyUpdate(agent.ydoc, a, 'remote');
              const p = toPerson.shift();
              if (p !== undefined) Y.applyUpdate(person.ydoc, p, 'remote');
            }
          };
          const inserted = new Set<string>();
          const deleted = new Set<string>();
          const typed = new Map<string, string[]>(); // cell id → words the person typed
          const replaced = new Set<string>(); // words an agent's edit replaced having read them
          const seen = new Map<string, string>();
          let made = 0;
          for (const [s, late, count] of steps) {
            const model = s.who === 'person' ? person : agent;
            const n = model.cells.length;
            const target =
              n > 0 ? model.cells[s.who === 'agent' && s.op === 'read' ? 0 : s.at % n] : undefined;
            if (s.who === 'person') {
              if (s.op === 'type' && target !== undefined) {
                const mark = `<${s.text}${made}>`;
                made += 1;
                const end = target.getSource().length;
                target.updateSource(end, end, mark); // typing at the end of the cell
                typed.set(target.id, [...(typed.get(target.id) ?? []), mark]);
              } else if (s.op === 'insert') {
                made += 1;
                const id = `p${made}`;
                model.insertCell(s.at % (n + 1), {
                  cell_type: 'code',
                  source: s.text,
                  metadata: {},
                  id
                });
                inserted.add(id);
              } else if (s.op === 'delete' && target !== undefined) {
                deleted.add(target.id);
                model.deleteCell(s.at % n);
              }
            } else if (s.op === 'read') {
              seen.clear();
              for (const cell of answerNotebook(model, request({ op: 'read' }), '').cells ?? []) {
                seen.set(cell.id, cell.source);
              }
            } else if (s.op === 'insert') {
              const reply = answerNotebook(
                model,
                request({ op: 'insert', after_id: target?.id ?? null, source: s.text }),
                ''
              );
              inserted.add(reply.cell?.id ?? '?');
            } else if (
              (s.op === 'edit' || s.op === 'delete') &&
              target !== undefined &&
              seen.has(target.id)
            ) {
              const id = target.id; // a deleted cell no longer knows its id
              const fields: Partial<NotebookRequest> = {
                op: s.op,
                cell_id: id,
                expected: seen.get(id) ?? ''
              };
              if (s.op === 'edit') fields.source = s.text;
              const reply = answerNotebook(model, request(fields), '');
              if (reply.ok && s.op === 'edit') {
                for (const w of typed.get(id) ?? []) {
                  if (fields.expected?.includes(w) === true) replaced.add(w);
                }
                seen.set(id, s.text);
              }
              if (reply.ok && s.op === 'delete') deleted.add(id);
            }
            deliver(late ? 0 : count);
          }
          while (toAgent.length + toPerson.length > 0) {
            deliver(1);
          }
          const mine = cellsOf(person);
          expect(cellsOf(agent)).toEqual(mine); // converged
          const ids = mine.map(c => c.id);
          expect(new Set(ids).size).toBe(ids.length); // no duplicated cell
          for (const id of inserted) {
            expect(ids.includes(id)).toBe(!deleted.has(id)); // none lost, none revived
          }
          // The person's words survive in every cell still there, unless an edit by the agent
          // replaced them after reading them: an edit made on a stale copy replaces only the
          // text that copy held (Yjs keeps the concurrent insert).
          for (const [id, words] of typed) {
            const cell = mine.find(c => c.id === id);
            if (cell === undefined) continue;
            for (const w of words) {
              if (!replaced.has(w)) expect(cell.source).toContain(w);
            }
          }
        }
      ),
      { numRuns: 300 }
    );
  });
});
