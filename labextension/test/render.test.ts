/** The one renderer: cards by preview kind, decisions at their call, buttons only where they act. */

import { beforeEach, describe, expect, it } from 'vitest';

import { Conversation } from '../src/conversation';
import type { Event, MessageStatus, Preview } from '../src/protocol';
import { markdownHtml } from '../src/render/markdown';
import { STYLE_ID, injectStyles } from '../src/render/styles';
import { ConversationView } from '../src/render/view';
import { clock, diffCounts, progressLine, retryLine, size, statusWord } from '../src/render/words';
import { E, RecordingActions, buttons, feed, running, texts } from './helpers';

let actions: RecordingActions;

beforeEach(() => {
  actions = new RecordingActions();
  document.body.replaceChildren();
});

function draw(conversation: Conversation): { view: ConversationView; root: HTMLElement } {
  const view = new ConversationView(conversation, actions);
  view.update();
  document.body.append(view.node);
  return { view, root: view.node };
}

function one(root: ParentNode, selector: string): HTMLElement {
  const found = root.querySelector<HTMLElement>(selector);
  if (found === null) {
    throw new Error(`nothing matches ${selector}`);
  }
  return found;
}

const OVERWRITE: Preview = {
  kind: 'file_write',
  path: 'src/app.py',
  exists: true,
  language: 'python',
  size: 20,
  content: 'def greet():\n    pass\n',
  truncated: false,
  diff: '--- a/src/app.py\n+++ b/src/app.py\n@@ -1,2 +1,2 @@\n-def hi():\n+def greet():\n     pass\n'
};

describe('a tool call waiting for approval', () => {
  function waiting(): Conversation {
    return feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', 'Writing the file.'),
      E.tool('m1', 'call_x9', 'file_write', OVERWRITE),
      E.ask('m1', 'call_x9', 'file_write', OVERWRITE),
      E.status('m1', 'awaiting_approval')
    );
  }

  it('shows its buttons at the card, before any later answer text', () => {
    const c = waiting();
    const { view, root } = draw(c);
    const card = one(root, '.collet-tool');
    expect(card.dataset.stage).toBe('awaiting');
    expect(buttons(card)).toEqual(['Allow once', 'Allow for session', 'Deny']);
    expect(one(root, '.collet-pill').textContent).toBe('awaiting approval');
    // What the model says after the decision comes after the card, not above it.
    feed(
      c,
      E.decide('m1', 'call_x9', 'allow_once', 'button', 0),
      E.status('m1', 'running'),
      E.text('m1', 'x')
    );
    feed(
      c,
      E.result('m1', 'call_x9', 'ok'),
      E.tool('m1', 'c2', 'bash'),
      E.text('m1', 'Later words.')
    );
    view.update();
    const order = [...one(root, '.collet-items').children].map(n => n.className.split(' ')[0]);
    expect(order).toEqual([
      'collet-answer',
      'collet-tool',
      'collet-answer',
      'collet-tool',
      'collet-answer'
    ]);
  });

  it('sends the decision with the reason typed for Deny', () => {
    const { root } = draw(waiting());
    const card = one(root, '.collet-tool');
    const reason = one(card, 'input.collet-reason') as HTMLInputElement;
    reason.value = '  keep mine ';
    [...card.querySelectorAll('button')].find(b => b.textContent === 'Deny')?.click();
    expect(actions.calls).toEqual([['decide', 'm1', 'call_x9', 'deny', 'keep mine']]);
    expect([...card.querySelectorAll('button')].every(b => b.disabled)).toBe(true);
  });

  it('says why a decision failed, and lets the user try again', async () => {
    actions.reply = { ok: false, text: 'that call no longer waits for a decision' };
    const { root } = draw(waiting());
    const card = one(root, '.collet-tool');
    [...card.querySelectorAll('button')].find(b => b.textContent === 'Allow once')?.click();
    await Promise.resolve();
    await Promise.resolve();
    expect(one(card, '.collet-reply').textContent).toBe('that call no longer waits for a decision');
    expect([...card.querySelectorAll('button')].some(b => b.disabled)).toBe(false);
  });

  it('keeps what the user typed while other parts of the message change', () => {
    const c = waiting();
    const { view, root } = draw(c);
    const reason = one(root, 'input.collet-reason') as HTMLInputElement;
    reason.value = 'half typed';
    feed(c, E.phase('m1', 'awaiting_approval'), E.notice('m1', 'a notice'));
    view.update();
    expect(one(root, 'input.collet-reason')).toBe(reason);
    expect(reason.value).toBe('half typed');
  });

  it('then says who decided, when and why, with no question left', () => {
    const c = waiting();
    const { view, root } = draw(c);
    const at = Date.UTC(2026, 0, 1, 14, 2) / 1000;
    feed(
      c,
      E.decide('m1', 'call_x9', 'deny', 'sidebar', at, 'keep mine'),
      E.result('m1', 'call_x9', 'denied', true)
    );
    view.update();
    const card = one(root, '.collet-tool');
    expect(one(card, '.collet-decision').textContent).toBe(
      `denied by sidebar at ${clock(at)}: keep mine`
    );
    expect(clock(at)).toBe('14:02'); // the tests run in UTC
    expect(card.textContent).not.toContain('?');
    expect(card.querySelectorAll('button')).toHaveLength(0);
    expect(card.dataset.stage).toBe('denied');
    expect(card.textContent).not.toContain('call_x9');
  });
});

describe('cards by preview kind', () => {
  function card(preview: Preview | null, name = 'tool', args = '{}'): HTMLElement {
    const c = feed(new Conversation(), ...running('m1'), E.tool('m1', 'c1', name, preview, args));
    return one(draw(c).root, '.collet-tool');
  }

  it('file_write that overwrites: the path, "overwrites", the diff with +/- lines', () => {
    const node = card(OVERWRITE, 'file_write');
    expect(one(node, '.collet-tool-summary').textContent).toBe('overwrites src/app.py (+1 −1)');
    expect(texts(node, '.collet-diff-add')).toEqual(['+def greet():\n']);
    expect(texts(node, '.collet-diff-del')).toEqual(['-def hi():\n']);
    expect(texts(node, '.collet-diff-hunk')).toEqual(['@@ -1,2 +1,2 @@\n']);
    expect(texts(node, '.collet-diff-meta')).toEqual(['--- a/src/app.py\n', '+++ b/src/app.py\n']);
    expect(texts(node, '.collet-diff-ctx')).toEqual(['     pass\n']);
    expect(one(node, 'details.collet-fold summary').textContent).toBe('new content · 20 bytes');
  });

  it('file_write that creates: "creates", the content highlighted by language', () => {
    const node = card({ ...OVERWRITE, exists: false, diff: '', path: 'new.py' }, 'file_write');
    expect(one(node, '.collet-tool-summary').textContent).toBe('creates new.py (20 bytes)');
    const code = one(node, 'pre.collet-code code');
    expect(code.dataset.language).toBe('python');
    expect(code.querySelector('.hljs-keyword')?.textContent).toBe('def');
    expect(node.querySelector('.collet-diff')).toBeNull();
  });

  it('file_write with long content folds it, saying its size, and says when it was cut', () => {
    const content = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    const node = card(
      { ...OVERWRITE, exists: false, diff: '', content, size: 40_000, truncated: true },
      'file_write'
    );
    const fold = one(node, 'details.collet-fold') as HTMLDetailsElement;
    expect(fold.open).toBe(false);
    expect(one(fold, 'summary').textContent).toBe('content · 40 lines · 39.1 KB');
    expect(node.querySelector('pre.collet-code')).toBeNull(); // made when opened
    fold.open = true;
    fold.dispatchEvent(new Event('toggle'));
    expect(one(fold, 'pre.collet-code').textContent).toContain('line 39');
    expect(node.textContent).toContain(`only the first ${content.length} characters are shown`);
  });

  it('file_edit: a colored unified diff, and why it will fail', () => {
    const node = card(
      {
        kind: 'file_edit',
        path: 'a.py',
        language: 'python',
        diff: '@@ -1 +1 @@\n-a\n+b\n',
        replace_all: true,
        problem: ''
      },
      'file_edit'
    );
    expect(one(node, '.collet-tool-summary').textContent).toBe('edits a.py (+1 −1)');
    expect(texts(node, '.collet-badge')).toEqual(['replace all']);
    expect(node.querySelectorAll('.collet-diff-add, .collet-diff-del')).toHaveLength(2);
    const failing = card(
      {
        kind: 'file_edit',
        path: 'a.py',
        language: 'python',
        diff: '',
        replace_all: false,
        problem: 'old_string is not found'
      },
      'file_edit'
    );
    expect(one(failing, '.collet-problem').textContent).toBe('will fail: old_string is not found');
  });

  it('bash: the command highlighted, its directory and timeout', () => {
    const node = card(
      { kind: 'bash', command: 'ls -la | wc -l', cwd: '/project', timeout: 120 },
      'bash'
    );
    expect(one(node, 'pre.collet-code code').dataset.language).toBe('bash');
    expect(one(node, 'pre.collet-code').textContent).toBe('ls -la | wc -l');
    expect(one(node, '.collet-hint').textContent).toBe('in /project · timeout 120 s');
  });

  it('mcp: the tool, its server, a read-only badge and the arguments as a table', () => {
    const node = card(
      {
        kind: 'mcp',
        server: 'time',
        tool: 'get_time',
        read_only: true,
        arguments: { zone: 'UTC', n: 2 }
      },
      'mcp__time__get_time'
    );
    expect(one(node, '.collet-tool-head').textContent).toContain('get_time');
    expect(one(node, '.collet-tool-summary').textContent).toBe('on MCP server time');
    expect(texts(node, '.collet-badge')).toEqual(['read-only']);
    expect(texts(node, '.collet-kv th')).toEqual(['zone', 'n']);
    expect(texts(node, '.collet-kv td')).toEqual(['UTC', '2']);
    expect(node.textContent).not.toContain('mcp__time__get_time');
  });

  it('args: a table of an object, or the raw text', () => {
    expect(texts(card({ kind: 'args', arguments: { q: 'x' } }, 'search'), '.collet-kv th')).toEqual(
      ['q']
    );
    expect(
      one(card({ kind: 'args', arguments: '{oops' }, 'search'), 'pre.collet-raw').textContent
    ).toBe('{oops');
    expect(texts(card(null, 'search', '{"q": "y"}'), '.collet-kv td')).toEqual(['y']);
  });
});

describe('message buttons', () => {
  function drawn(status: MessageStatus, retriedBy = ''): HTMLElement {
    const c = feed(
      new Conversation(),
      E.state('m1', 'queued', 'hi'),
      E.status('m1', status, retriedBy, status === 'failed' ? 'boom' : null)
    );
    return one(draw(c).root, '.collet-head');
  }

  it('offer Cancel only while the message is queued, running or waiting on a call', () => {
    for (const status of ['queued', 'running', 'awaiting_approval'] as const) {
      expect(buttons(drawn(status)), status).toEqual(['Cancel']);
    }
    for (const status of ['awaiting_plan', 'answered', 'cancelled'] as const) {
      expect(buttons(drawn(status)), status).toEqual([]);
    }
  });

  it('offer Retry only for a failed message that nothing retries yet', () => {
    expect(buttons(drawn('failed'))).toEqual(['Retry']);
    expect(buttons(drawn('failed', 'm2'))).toEqual([]);
  });

  it('send cancel and retry for their message', () => {
    one(drawn('running'), 'button').click();
    one(drawn('failed'), 'button').click();
    expect(actions.calls).toEqual([
      ['cancel', 'm1'],
      ['retry', 'm1']
    ]);
  });

  it('say the status in the same words as the pill everywhere', () => {
    expect(one(drawn('awaiting_plan'), '.collet-pill').textContent).toBe(
      statusWord('awaiting_plan')
    );
    expect(statusWord('awaiting_plan')).toBe('awaiting plan');
  });
});

describe('a plan', () => {
  it('shows in full where it was made, with Approve / Reject and a note', () => {
    const plan = '## Plan\n\n1. Write `README.md`.';
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', plan),
      E.plan('m1', plan),
      E.status('m1', 'awaiting_plan')
    );
    const { view, root } = draw(c);
    const box = one(root, '.collet-plan');
    expect(box.dataset.state).toBe('pending');
    expect(one(box, '.collet-md h2').textContent).toBe('Plan');
    expect(root.querySelectorAll('.collet-answer')).toHaveLength(0); // the plan is the answer
    (one(box, 'textarea') as HTMLTextAreaElement).value = 'keep it short';
    [...box.querySelectorAll('button')].find(b => b.textContent === 'Approve')?.click();
    expect(actions.calls).toEqual([['plan', 'm1', true, 'keep it short']]);
    feed(
      c,
      E.planResolved('m1', true, 'm2', 'keep it short', 'button', 0),
      E.status('m1', 'answered')
    );
    view.update();
    expect(one(root, '.collet-plan .collet-decision').textContent).toBe(
      'plan approved by button — note: keep it short; carried out as m2'
    );
    expect(buttons(one(root, '.collet-plan'))).toEqual([]);
  });
});

describe('markdown', () => {
  it('escapes raw HTML from the model', () => {
    const html = markdownHtml('hi <script>alert(1)</script> <img src=x onerror=alert(1)>');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;');
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', '<b onclick="x()">bold?</b>')
    );
    const answer = one(draw(c).root, '.collet-answer');
    expect(answer.querySelector('b')).toBeNull();
    expect(answer.textContent).toContain('<b onclick="x()">bold?</b>');
  });

  it('highlights fenced code by language and refuses javascript: links', () => {
    const html = markdownHtml(
      '```python\nimport os\n```\n\n[x](javascript:alert(1)) [y](https://example.org)'
    );
    expect(html).toContain('<span class="hljs-keyword">import</span>');
    expect(html).not.toContain('href="javascript');
    expect(html).toContain('target="_blank"');
  });
});

describe('the view', () => {
  it('injects its styles once per document', () => {
    injectStyles(document);
    injectStyles(document);
    expect(document.querySelectorAll(`#${STYLE_ID}`)).toHaveLength(1);
  });

  it('shows follow-ups below their message, and a failed message its ending', () => {
    const c = feed(
      new Conversation(),
      ...running('m1', 'flaky'),
      E.state('m1', 'failed', '', 'boom'),
      E.status('m1', 'failed', '', 'boom'),
      E.state('m2', 'queued', 'flaky'),
      E.status('m2', 'queued'),
      E.status('m1', 'failed', 'm2', 'boom')
    );
    const { root } = draw(c);
    expect(
      [...root.querySelectorAll<HTMLElement>('.collet-message')].map(n => n.dataset.messageId)
    ).toEqual(['m1', 'm2']);
    expect(one(root, '[data-message-id="m1"] .collet-ending').textContent).toBe(
      'm1 failed: boom — retried as m2'
    );
  });

  it('shows a command in a failure line as code, not backticks', () => {
    const c = feed(
      new Conversation(),
      ...running('m1', 'flaky'),
      E.state('m1', 'failed', '', 'the provider is down: `%collet /retry m1` sends it again'),
      E.status('m1', 'failed', '', 'the provider is down: `%collet /retry m1` sends it again')
    );
    const { root } = draw(c);
    const ending = one(root, '[data-message-id="m1"] .collet-ending');
    expect(ending.textContent).toBe(
      'm1 failed: the provider is down: %collet /retry m1 sends it again'
    );
    expect(ending.querySelector('code')?.textContent).toBe('%collet /retry m1');
  });

  it('counts a waiting retry down and drops it when the reply goes on', () => {
    const until = Date.now() / 1000 + 12.2;
    const c = feed(new Conversation(), ...running('m1', 'hi'), {
      type: 'retry_wait',
      message_id: 'm1',
      reason: 'rate limited (HTTP 429)',
      detail: 'openai returned HTTP 429 Too Many Requests',
      wait_s: 12.2,
      until,
      attempt: 2,
      attempts: 4
    });
    const { view, root } = draw(c);
    const line = one(root, '[data-message-id="m1"] .collet-retry');
    expect(line.textContent).toBe('rate limited (HTTP 429), retrying in 13 s (attempt 2 of 4)');
    expect(line.title).toContain('429 Too Many Requests');
    const retry = c.message('m1')?.retry;
    if (retry === null || retry === undefined) {
      throw new Error('no retry');
    }
    expect(retryLine({ ...retry, until: 0 }, 1)).toBe(
      'rate limited (HTTP 429), retrying now (attempt 2 of 4)'
    );
    feed(c, E.text('m1', 'Hello'));
    view.update();
    expect(root.querySelector('.collet-retry')).toBeNull();
  });

  it('shows a running tool its progress, and its result instead once it has one', () => {
    const progress = (done: number, total: number | null, message = ''): Event => ({
      type: 'tool_progress' as const,
      message_id: 'm1',
      call_id: 'c1',
      server: 'everything',
      progress: done,
      total,
      message
    });
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.tool('m1', 'c1', 'mcp__everything__slow')
    );
    feed(c, progress(3, 10, 'indexing'));
    const { view, root } = draw(c);
    const line = one(root, '.collet-tool .collet-progress');
    expect(line.textContent).toBe('3 of 10 · indexing');
    expect(line.querySelector('progress')?.value).toBe(3);
    expect(progressLine({ progress: 40, total: 100, message: '' })).toBe('40 %');
    expect(progressLine({ progress: 7, total: null, message: 'step' })).toBe('7 · step');
    feed(c, E.result('m1', 'c1', 'done', false, 'mcp__everything__slow'));
    view.update();
    expect(root.querySelector('.collet-progress')).toBeNull();
  });

  it('shows the pictures a tool returned beside its result, and no other kind of image', () => {
    const png =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC';
    const c = feed(new Conversation(), ...running('m1'), E.tool('m1', 'c1', 'mcp__t__picture'), {
      ...E.result('m1', 'c1', 'x\n'.repeat(40), false, 'mcp__t__picture'),
      images: [
        { mime: 'image/png', data: png, source: 'mcp__t__picture' },
        { mime: 'image/svg+xml', data: 'PHN2Zz4=', source: 'svg' }
      ]
    } as Event);
    const { root } = draw(c);
    const pictures = root.querySelectorAll<HTMLImageElement>('.collet-tool .collet-picture');
    expect(pictures.length).toBe(1);
    const [picture] = Array.from(pictures);
    expect(picture?.src).toBe(`data:image/png;base64,${png}`);
    expect(picture?.alt).toBe('image from mcp__t__picture');
    // The long text folds; the picture stays in sight.
    expect(picture?.closest('details')).toBeNull();
  });

  it('redraws only what changed', () => {
    const c = feed(
      new Conversation(),
      ...running('m1'),
      E.text('m1', 'a'),
      E.tool('m1', 'c1', 'bash')
    );
    const { view, root } = draw(c);
    const card = one(root, '.collet-tool');
    const answer = one(root, '.collet-answer');
    feed(c, E.text('m1', 'more'));
    expect(view.update()).toBe(true);
    expect(one(root, '.collet-tool')).toBe(card);
    expect(one(root, '.collet-answer')).toBe(answer);
    expect(view.update()).toBe(false);
  });
});

describe('words', () => {
  it('count a diff past its header and say sizes', () => {
    expect(diffCounts('--- a/x\n+++ b/x\n@@ -1 +1,2 @@\n-a\n+b\n+c\n')).toEqual({
      added: 2,
      removed: 1
    });
    expect(size(1)).toBe('1 byte');
    expect(size(2048)).toBe('2.0 KB');
  });
});
