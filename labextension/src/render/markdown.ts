/**
 * Markdown and code highlighting, in the browser: markdown-it with raw HTML off (a model's
 * `<script>` shows as text) and highlight.js with a handful of languages.
 */

import hljs from 'highlight.js/lib/core';
import bash from 'highlight.js/lib/languages/bash';
import diff from 'highlight.js/lib/languages/diff';
import ini from 'highlight.js/lib/languages/ini';
import javascript from 'highlight.js/lib/languages/javascript';
import json from 'highlight.js/lib/languages/json';
import markdown from 'highlight.js/lib/languages/markdown';
import plaintext from 'highlight.js/lib/languages/plaintext';
import python from 'highlight.js/lib/languages/python';
import typescript from 'highlight.js/lib/languages/typescript';
import yaml from 'highlight.js/lib/languages/yaml';
import MarkdownIt from 'markdown-it';

import { h } from './dom';

hljs.registerLanguage('python', python);
hljs.registerLanguage('bash', bash);
hljs.registerLanguage('json', json);
hljs.registerLanguage('javascript', javascript);
hljs.registerLanguage('typescript', typescript);
hljs.registerLanguage('markdown', markdown);
hljs.registerLanguage('yaml', yaml);
hljs.registerLanguage('ini', ini); // its aliases include toml
hljs.registerLanguage('diff', diff);
hljs.registerLanguage('plaintext', plaintext);

/** Text with `&`, `<`, `>` and quotes escaped for HTML. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Whether highlight.js knows `language` (a name or an alias) here. */
export function knowsLanguage(language: string): boolean {
  return language !== '' && hljs.getLanguage(language) !== undefined;
}

/** `code` as highlighted HTML (escaped plain text for an unknown language). */
export function highlight(code: string, language: string): string {
  if (!knowsLanguage(language) || language === 'plaintext') {
    return escapeHtml(code);
  }
  try {
    return hljs.highlight(code, { language, ignoreIllegals: true }).value;
  } catch {
    return escapeHtml(code);
  }
}

const md = new MarkdownIt({
  html: false,
  linkify: true,
  typographer: false,
  highlight: (code, language) =>
    `<pre class="collet-code hljs"><code>${highlight(code, language.trim())}</code></pre>`
});

// Links open beside the notebook, never in its place.
const defaultLink = md.renderer.rules.link_open;
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const token = tokens[idx];
  if (token !== undefined) {
    token.attrSet('target', '_blank');
    token.attrSet('rel', 'noopener noreferrer');
  }
  return defaultLink
    ? defaultLink(tokens, idx, options, env, self)
    : self.renderToken(tokens, idx, options);
};

/** Markdown as HTML: raw HTML escaped, code fences highlighted. */
export function markdownHtml(text: string): string {
  return md.render(text);
}

/** A `<div class="collet-md">` showing `text` as Markdown. */
export function markdownNode(text: string): HTMLDivElement {
  const node = h('div', 'md');
  node.innerHTML = markdownHtml(text);
  return node;
}

/** A highlighted code block. */
export function codeBlock(code: string, language: string): HTMLPreElement {
  const pre = h('pre', 'code');
  pre.classList.add('hljs');
  const inner = document.createElement('code');
  if (knowsLanguage(language)) {
    inner.dataset.language = language;
  }
  inner.innerHTML = highlight(code, language);
  pre.append(inner);
  return pre;
}

/** A unified diff, one line per element with `collet-diff-add` / `-del` / `-hunk` / `-meta`. */
export function diffBlock(diff: string): HTMLPreElement {
  const pre = h('pre', 'code diff');
  let header = true;
  for (const line of diff.replace(/\n$/, '').split('\n')) {
    let kind = 'ctx';
    if (line.startsWith('@@')) {
      header = false;
      kind = 'hunk';
    } else if (header && (line.startsWith('---') || line.startsWith('+++'))) {
      kind = 'meta';
    } else if (line.startsWith('+')) {
      kind = 'add';
    } else if (line.startsWith('-')) {
      kind = 'del';
    } else if (line.startsWith('\\')) {
      kind = 'meta';
    }
    pre.append(h('span', `diff-${kind}`, `${line}\n`));
  }
  return pre;
}
