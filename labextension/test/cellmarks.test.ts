/**
 * What a person sees of the agent's work on the notebook (issue 20): the badge on a cell the
 * agent inserted or edited, and the approval card of a cell it asks to run (the code, the
 * names it would overwrite, how long it is waited for).
 */

import { beforeEach, describe, expect, it } from 'vitest';

import { BADGE, MARKED, markedBy, showMark } from '../src/cellmarks';
import { Conversation } from '../src/conversation';
import type { Preview } from '../src/protocol';
import { readPreview } from '../src/protocol';
import { ConversationView } from '../src/render/view';
import { E, RecordingActions, feed, running, texts } from './helpers';

beforeEach(() => {
  document.body.replaceChildren();
});

describe('the mark of a cell the agent changed', () => {
  it('names the message of a well-formed mark only', () => {
    expect(markedBy({ message_id: 'm3' })).toBe('m3');
    for (const value of [undefined, null, 'm3', [], {}, { message_id: '' }, { message_id: 4 }]) {
      expect(markedBy(value)).toBeNull();
    }
  });

  it('shows one badge naming the message, follows a change and goes with the mark', () => {
    const cell = document.createElement('div');
    const input = document.createElement('div');
    input.className = 'jp-Cell-inputWrapper';
    cell.append(input); // the cell's own parts stay
    showMark(cell, 'm1');
    showMark(cell, 'm1');
    expect(cell.classList.contains(MARKED)).toBe(true);
    expect(texts(cell, `.${BADGE}`)).toEqual(['collet · m1']);
    expect(cell.querySelector<HTMLElement>(`.${BADGE}`)?.title).toContain('in message m1');
    expect(cell.querySelector(`.${BADGE}`)?.parentElement).toBe(input); // beside the code
    showMark(cell, 'm4'); // edited again by a later message
    expect(texts(cell, `.${BADGE}`)).toEqual(['collet · m4']);
    showMark(cell, null); // Ctrl+Z took the mark away
    expect(cell.classList.contains(MARKED)).toBe(false);
    expect(cell.querySelectorAll(`.${BADGE}`)).toHaveLength(0);
    expect(cell.children).toHaveLength(1);
  });
});

describe('the approval of a cell run', () => {
  const RUN: Preview = {
    kind: 'notebook_run',
    path: 'sales.ipynb cell 4 (id 9f2c)',
    code: 'df = df[df.amount > 0]\ndf.describe()',
    language: 'python',
    warnings: ['would overwrite: df'],
    timeout: 60,
    problem: ''
  };

  it('reads the preview the kernel sends, and refuses a mistyped one', () => {
    expect(readPreview({ ...RUN })).toEqual(RUN);
    expect(() => readPreview({ ...RUN, warnings: 'would overwrite: df' })).toThrow(
      'field "warnings" should be a list of strings'
    );
  });

  it('shows the code, what it would overwrite and how long it is waited for', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.tool('m1', 'r1', 'notebook_run', RUN),
      E.ask('m1', 'r1', 'notebook_run', RUN),
      E.status('m1', 'awaiting_approval')
    );
    const view = new ConversationView(c, new RecordingActions());
    view.update();
    document.body.append(view.node);
    const card = view.node.querySelector<HTMLElement>('.collet-tool');
    expect(card?.dataset.preview).toBe('notebook_run');
    expect(texts(view.node, '.collet-tool-summary')).toEqual([
      'runs sales.ipynb cell 4 (id 9f2c) (would overwrite: df)'
    ]);
    expect(texts(view.node, '.collet-warning')).toEqual(['would overwrite: df']);
    expect(view.node.textContent).toContain('df = df[df.amount > 0]');
    expect(texts(view.node, '.collet-hint')).toContain(
      'runs in the kernel as if you ran it · waited for up to 60 s'
    );
    const refused = feed(
      new Conversation(),
      ...running('m2'),
      E.tool('m2', 'r2', 'notebook_run', { ...RUN, problem: 'you have not read cell 9' })
    );
    const other = new ConversationView(refused, new RecordingActions());
    other.update();
    expect(texts(other.node, '.collet-tool .collet-problem')).toEqual([
      'will fail: you have not read cell 9'
    ]);
  });
});
