/**
 * The built cell-view bundle (collet_nb/static/message_view.js, `npm run build:cellview`; `npm
 * test` builds it first) loads on its own and renders: what the kernel sends to the page.
 */

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { FakeModel, fixtures } from './helpers';

const BUNDLE = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'collet_nb',
  'static',
  'message_view.js'
);

interface Bundle {
  default: {
    initialize: () => void;
    render: (props: { model: FakeModel; el: HTMLElement }) => () => void;
  };
}

describe('the built message view', () => {
  it('is one minified module that imports nothing', () => {
    const text = readFileSync(BUNDLE, 'utf8');
    expect(text.length).toBeLessThan(300_000); // sent to the page once per kernel
    expect(text).not.toContain('function render({ model, el })'); // minified
    expect(text).not.toMatch(/^import /m);
    expect(text).not.toMatch(/\bimport\(/);
    expect(text).toContain('__colletNbView2');
  });

  it('publishes its renderer and draws a conversation from the kernel', async () => {
    const bundle = (await import(/* @vite-ignore */ pathToFileURL(BUNDLE).href)) as Bundle;
    bundle.default.initialize();
    const published = (globalThis as Record<string, unknown>).__colletNbView2 as {
      render?: unknown;
    };
    expect(typeof published.render).toBe('function');

    const model = new FakeModel({ message_id: 'm1', protocol_version: 2 });
    const el = document.createElement('div');
    document.body.append(el);
    const cleanup = bundle.default.render({ model, el });
    expect(model.sent).toEqual([{ protocol_version: 2, type: 'sync', seen: 0 }]);
    const [, fixture] = fixtures().find(([name]) => name === 'handmade_tool_approval.json') ?? [];
    model.events(0, fixture?.events ?? []);
    expect(el.querySelector('.collet-tool-summary')?.textContent).toBe('overwrites app.py (+2 −2)');
    expect(el.querySelector('.collet-decision')?.textContent).toBe(
      'allowed once by button at 14:02'
    );
    expect(document.head.querySelector('style[id^="collet-nb-view-style-"]')).not.toBeNull();
    cleanup();
    expect(model.handlers.size).toBe(0);
  });
});
