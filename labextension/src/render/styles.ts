/**
 * The renderer's styles, carried in the code: a cell's view must look right where our lab
 * extension is absent (Notebook 7 without it, VS Code), so both hosts inject this one sheet,
 * once per document. JupyterLab's variables first (light and dark themes), then VS Code's,
 * then plain values for a bare page.
 */

const CSS = `
.collet-view {
  --collet-fg: var(--jp-ui-font-color1, var(--vscode-foreground, #1f1f1f));
  --collet-fg-muted: var(--jp-ui-font-color2, var(--vscode-descriptionForeground, #616161));
  --collet-bg: var(--jp-layout-color1, var(--vscode-editor-background, #ffffff));
  --collet-bg-soft: var(--jp-layout-color2, var(--vscode-textBlockQuote-background, #eeeeee));
  --collet-bg-input: var(--jp-layout-color0, var(--vscode-input-background, #ffffff));
  --collet-code-bg: var(--jp-cell-editor-background, var(--vscode-textCodeBlock-background, #f5f5f5));
  --collet-border: var(--jp-border-color2, var(--vscode-panel-border, #e0e0e0));
  --collet-border-strong: var(--jp-border-color1, var(--vscode-input-border, #bdbdbd));
  --collet-accent: var(--jp-brand-color1, var(--vscode-focusBorder, #1976d2));
  --collet-ok: var(--jp-success-color1, var(--vscode-testing-iconPassed, #388e3c));
  --collet-warn: var(--jp-warn-color1, var(--vscode-editorWarning-foreground, #f57c00));
  --collet-error: var(--jp-error-color1, var(--vscode-errorForeground, #d32f2f));
  --collet-on-color: var(--jp-ui-inverse-font-color0, #ffffff);
  --collet-code-font: var(--jp-code-font-family, var(--vscode-editor-font-family, ui-monospace, SFMono-Regular, Menlo, Consolas, monospace));
  --collet-code-size: var(--jp-code-font-size, 13px);
  color: var(--collet-fg);
  font-family: var(--jp-ui-font-family, var(--vscode-font-family, system-ui, -apple-system, 'Segoe UI', sans-serif));
  font-size: var(--jp-content-font-size1, 14px);
  line-height: 1.45;
  text-align: left;
}
.collet-view [hidden] { display: none !important; }
.collet-view .collet-message {
  padding: 6px 0 8px;
  border-bottom: 1px solid var(--collet-border);
}
.collet-view .collet-message:last-child { border-bottom: none; }
.collet-view .collet-head {
  display: flex; flex-wrap: wrap; align-items: center; gap: 6px;
  font-size: var(--jp-ui-font-size1, 13px);
}
.collet-view .collet-spacer { flex: 1 1 auto; }
.collet-view .collet-id { font-family: var(--collet-code-font); color: var(--collet-fg-muted); }
.collet-view .collet-pill {
  border-radius: 9px; padding: 0 8px; line-height: 18px; white-space: nowrap;
  font-size: var(--jp-ui-font-size0, 11px); font-weight: 600;
  background: var(--collet-bg-soft); color: var(--collet-fg);
  border: 1px solid var(--collet-border);
}
.collet-view .collet-pill[data-status='running'] { background: var(--collet-accent); color: var(--collet-on-color); border-color: transparent; }
.collet-view .collet-pill[data-status='answered'] { background: var(--collet-ok); color: var(--collet-on-color); border-color: transparent; }
.collet-view .collet-pill[data-status='failed'] { background: var(--collet-error); color: var(--collet-on-color); border-color: transparent; }
.collet-view .collet-pill[data-status='awaiting_approval'],
.collet-view .collet-pill[data-status='awaiting_input'],
.collet-view .collet-pill[data-status='awaiting_plan'] { background: var(--collet-warn); color: var(--collet-on-color); border-color: transparent; }
.collet-view .collet-phase { color: var(--collet-fg-muted); font-style: italic; }
.collet-view .collet-user {
  margin: 4px 0; padding: 3px 8px;
  border-left: 3px solid var(--collet-accent);
  background: var(--collet-bg-soft);
  white-space: pre-wrap; overflow-wrap: anywhere;
}
.collet-view .collet-user:empty { display: none; }
.collet-view .collet-user.collet-long:not(.collet-open) {
  max-height: 4.4em; overflow: hidden; cursor: pointer;
  -webkit-mask-image: linear-gradient(to bottom, #000 60%, transparent);
  mask-image: linear-gradient(to bottom, #000 60%, transparent);
}
.collet-view .collet-items > * { margin: 6px 0; }
.collet-view .collet-md { overflow-wrap: anywhere; }
.collet-view .collet-md > :first-child { margin-top: 0; }
.collet-view .collet-md > :last-child { margin-bottom: 0; }
.collet-view .collet-md p, .collet-view .collet-md ul, .collet-view .collet-md ol { margin: 0.4em 0; }
.collet-view .collet-md h1, .collet-view .collet-md h2, .collet-view .collet-md h3,
.collet-view .collet-md h4 { margin: 0.6em 0 0.3em; line-height: 1.25; }
.collet-view .collet-md h1 { font-size: 1.35em; }
.collet-view .collet-md h2 { font-size: 1.2em; }
.collet-view .collet-md h3, .collet-view .collet-md h4 { font-size: 1.05em; }
.collet-view .collet-md code {
  font-family: var(--collet-code-font); font-size: 0.92em;
  background: var(--collet-code-bg); padding: 0 3px; border-radius: 3px;
}
.collet-view .collet-md pre code { background: none; padding: 0; font-size: inherit; }
.collet-view .collet-md blockquote {
  margin: 0.4em 0; padding: 0 10px; color: var(--collet-fg-muted);
  border-left: 3px solid var(--collet-border);
}
.collet-view .collet-md table { border-collapse: collapse; margin: 0.4em 0; }
.collet-view .collet-md th, .collet-view .collet-md td { border: 1px solid var(--collet-border); padding: 2px 6px; }
.collet-view .collet-md a { color: var(--jp-content-link-color, var(--vscode-textLink-foreground, #1565c0)); }
.collet-view .collet-code {
  margin: 4px 0; padding: 6px 8px;
  background: var(--collet-code-bg);
  border: 1px solid var(--collet-border); border-radius: 3px;
  font-family: var(--collet-code-font); font-size: var(--collet-code-size);
  line-height: 1.4; white-space: pre; overflow: auto; max-height: 32em;
  color: var(--jp-content-font-color1, var(--collet-fg));
}
.collet-view .collet-diff-add { display: block; background: rgba(46, 160, 67, 0.18); }
.collet-view .collet-diff-del { display: block; background: rgba(248, 81, 73, 0.18); }
.collet-view .collet-diff-hunk { display: block; color: var(--collet-accent); }
.collet-view .collet-diff-meta { display: block; color: var(--collet-fg-muted); }
.collet-view .collet-diff-ctx { display: block; }
.collet-view .collet-raw {
  margin: 4px 0; padding: 4px 8px; background: var(--collet-code-bg); border-radius: 3px;
  font-family: var(--collet-code-font); font-size: var(--collet-code-size);
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 24em; overflow: auto;
}
.collet-view .collet-reasoning { color: var(--collet-fg-muted); }
.collet-view .collet-reasoning summary, .collet-view .collet-fold summary,
.collet-view details.collet-result summary { cursor: pointer; color: var(--collet-fg-muted); font-size: var(--jp-ui-font-size1, 13px); }
.collet-view .collet-reasoning-text { white-space: pre-wrap; font-style: italic; padding-left: 12px; }
.collet-view .collet-note { color: var(--collet-fg-muted); font-style: italic; }
.collet-view .collet-note[data-level='warning'] { color: var(--collet-warn); }
.collet-view .collet-note[data-level='error'] { color: var(--collet-error); }
.collet-view .collet-tool, .collet-view .collet-plan {
  border: 1px solid var(--collet-border); border-radius: 4px;
  padding: 6px 8px; background: var(--collet-bg);
}
.collet-view .collet-tool[data-stage='awaiting'], .collet-view .collet-plan[data-state='pending'] {
  border-color: var(--collet-warn); box-shadow: 0 0 0 1px var(--collet-warn) inset;
}
.collet-view .collet-tool-head, .collet-view .collet-plan-head {
  display: flex; flex-wrap: wrap; align-items: baseline; gap: 6px;
  font-size: var(--jp-ui-font-size1, 13px);
}
.collet-view .collet-tool-name, .collet-view .collet-plan-title { font-family: var(--collet-code-font); font-weight: 600; }
.collet-view .collet-plan-title { font-family: inherit; }
.collet-view .collet-tool-summary { overflow-wrap: anywhere; }
.collet-view .collet-stage { margin-left: auto; color: var(--collet-fg-muted); white-space: nowrap; }
.collet-view .collet-tool[data-stage='awaiting'] .collet-stage,
.collet-view .collet-plan[data-state='pending'] .collet-stage { color: var(--collet-warn); font-weight: 600; }
.collet-view .collet-tool[data-stage='failed'] .collet-stage,
.collet-view .collet-tool[data-stage='denied'] .collet-stage { color: var(--collet-error); }
.collet-view .collet-tool[data-stage='done'] .collet-stage { color: var(--collet-ok); }
.collet-view .collet-badge {
  border: 1px solid var(--collet-border-strong); border-radius: 3px; padding: 0 4px;
  font-size: var(--jp-ui-font-size0, 11px); color: var(--collet-fg-muted);
}
.collet-view .collet-label, .collet-view .collet-hint { color: var(--collet-fg-muted); font-size: var(--jp-ui-font-size1, 13px); }
.collet-view .collet-problem { color: var(--collet-error); white-space: pre-wrap; }
.collet-view .collet-warning { color: var(--collet-warn); white-space: pre-wrap; }
.collet-view .collet-kv { border-collapse: collapse; margin: 4px 0; font-size: var(--jp-ui-font-size1, 13px); max-width: 100%; }
.collet-view .collet-kv th, .collet-view .collet-kv td {
  border: 1px solid var(--collet-border); padding: 2px 6px; vertical-align: top; text-align: left;
}
.collet-view .collet-kv th { font-family: var(--collet-code-font); font-weight: 600; white-space: nowrap; background: var(--collet-bg-soft); }
.collet-view .collet-kv td { font-family: var(--collet-code-font); white-space: pre-wrap; overflow-wrap: anywhere; }
.collet-view .collet-elicitation {
  border: 1px solid var(--collet-border); border-radius: 4px;
  padding: 6px 8px; background: var(--collet-bg);
}
.collet-view .collet-elicitation[data-state='pending'] {
  border-color: var(--collet-warn); box-shadow: 0 0 0 1px var(--collet-warn) inset;
}
.collet-view .collet-elicitation[data-state='pending'] .collet-stage { color: var(--collet-warn); font-weight: 600; }
.collet-view .collet-elicit-message { margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.collet-view .collet-elicit-url { margin: 4px 0; overflow-wrap: anywhere; font-family: var(--collet-code-font); }
.collet-view .collet-elicit-url a { color: var(--jp-content-link-color, var(--vscode-textLink-foreground, #1565c0)); }
.collet-view .collet-elicit-form { margin-top: 4px; }
.collet-view .collet-field { display: grid; grid-template-columns: minmax(7em, max-content) minmax(0, 1fr); gap: 2px 8px; align-items: center; margin: 4px 0; }
.collet-view .collet-field > .collet-hint { grid-column: 2; font-size: var(--jp-ui-font-size0, 11px); }
.collet-view .collet-field-label { font-size: var(--jp-ui-font-size1, 13px); font-weight: 600; }
.collet-view .collet-field-required { color: var(--collet-error); }
.collet-view .collet-field-input {
  box-sizing: border-box; width: 100%; min-width: 6em; padding: 2px 6px;
  font: inherit; font-size: var(--jp-ui-font-size1, 13px);
  color: var(--collet-fg); background: var(--collet-bg-input);
  border: 1px solid var(--collet-border-strong); border-radius: 2px;
}
.collet-view .collet-field-check { justify-self: start; margin: 0; }
.collet-view .collet-field-choices { display: flex; flex-wrap: wrap; gap: 2px 10px; font-size: var(--jp-ui-font-size1, 13px); }
.collet-view .collet-sample-msg { margin: 4px 0; }
.collet-view .collet-approval { margin-top: 6px; }
.collet-view .collet-ask { font-weight: 600; margin-bottom: 4px; }
.collet-view .collet-buttons { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; margin-top: 4px; }
.collet-view .collet-reason, .collet-view .collet-note-input {
  box-sizing: border-box; flex: 1 1 12em; min-width: 8em;
  padding: 3px 6px; font: inherit; font-size: var(--jp-ui-font-size1, 13px);
  color: var(--collet-fg); background: var(--collet-bg-input);
  border: 1px solid var(--collet-border-strong); border-radius: 2px;
}
.collet-view .collet-note-input { width: 100%; resize: vertical; margin-top: 4px; }
.collet-view .collet-decision { margin-top: 4px; font-size: var(--jp-ui-font-size1, 13px); }
.collet-view .collet-decision::before { content: '✓ '; color: var(--collet-ok); }
.collet-view .collet-decision[data-decision='deny']::before,
.collet-view .collet-decision[data-decision='reject']::before { content: '✗ '; color: var(--collet-error); }
.collet-view .collet-result { margin-top: 4px; font-size: var(--jp-ui-font-size1, 13px); overflow-wrap: anywhere; }
.collet-view .collet-result.collet-is-error, .collet-view .collet-result.collet-is-error summary { color: var(--collet-error); }
.collet-view .collet-pictures { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 4px; }
.collet-view .collet-picture { max-width: 100%; max-height: 320px; border: 1px solid var(--collet-border); border-radius: 3px; background: #fff; }
.collet-view .collet-reply { font-size: var(--jp-ui-font-size1, 13px); color: var(--collet-fg-muted); }
.collet-view .collet-reply:empty { display: none; }
.collet-view .collet-is-error { color: var(--collet-error); }
.collet-view .collet-ending { margin-top: 4px; }
.collet-view .collet-retry { margin-top: 4px; color: var(--collet-warn); }
.collet-view .collet-progress { margin-top: 4px; color: var(--collet-fg-muted); display: flex; gap: 6px; align-items: center; }
.collet-view .collet-progress .collet-bar { width: 8em; height: 0.8em; }
.collet-view .collet-ending[data-status='failed'] { color: var(--collet-error); }
.collet-view .collet-ending[data-status='cancelled'] { color: var(--collet-fg-muted); font-style: italic; }
.collet-view .collet-counters { color: var(--collet-fg-muted); font-size: var(--jp-ui-font-size0, 11px); margin-top: 2px; }
.collet-view .collet-empty, .collet-view .collet-session { color: var(--collet-fg-muted); padding: 4px 0; font-size: var(--jp-ui-font-size1, 13px); }
.collet-view .collet-btn {
  font: inherit; font-size: var(--jp-ui-font-size1, 13px); line-height: 20px;
  padding: 1px 10px; border-radius: 3px; cursor: pointer;
  color: var(--collet-fg); background: var(--collet-bg-soft);
  border: 1px solid var(--collet-border-strong);
}
.collet-view .collet-btn:hover:not(:disabled) { filter: brightness(0.95); }
.collet-view .collet-btn:focus-visible { outline: 2px solid var(--collet-accent); outline-offset: 1px; }
.collet-view .collet-btn:disabled { opacity: 0.5; cursor: default; }
.collet-view .collet-btn-accept { background: var(--collet-accent); color: var(--collet-on-color); border-color: transparent; }
.collet-view .collet-btn-warn { background: var(--collet-error); color: var(--collet-on-color); border-color: transparent; }
.collet-view .hljs-comment, .collet-view .hljs-quote { color: var(--jp-mirror-editor-comment-color, var(--vscode-descriptionForeground, #6a737d)); font-style: italic; }
.collet-view .hljs-keyword, .collet-view .hljs-selector-tag, .collet-view .hljs-built_in.hljs-keyword { color: var(--jp-mirror-editor-keyword-color, var(--vscode-symbolIcon-keywordForeground, #8250df)); font-weight: 600; }
.collet-view .hljs-string, .collet-view .hljs-regexp, .collet-view .hljs-addition { color: var(--jp-mirror-editor-string-color, var(--vscode-debugTokenExpression-string, #0a7e3d)); }
.collet-view .hljs-number, .collet-view .hljs-literal { color: var(--jp-mirror-editor-number-color, var(--vscode-debugTokenExpression-number, #0550ae)); }
.collet-view .hljs-title, .collet-view .hljs-title.function_, .collet-view .hljs-section { color: var(--jp-mirror-editor-def-color, var(--vscode-symbolIcon-functionForeground, #0550ae)); }
.collet-view .hljs-built_in, .collet-view .hljs-type { color: var(--jp-mirror-editor-builtin-color, var(--vscode-symbolIcon-classForeground, #953800)); }
.collet-view .hljs-attr, .collet-view .hljs-attribute, .collet-view .hljs-property { color: var(--jp-mirror-editor-property-color, var(--vscode-symbolIcon-propertyForeground, #0550ae)); }
.collet-view .hljs-variable, .collet-view .hljs-template-variable, .collet-view .hljs-params { color: var(--jp-mirror-editor-variable-2-color, inherit); }
.collet-view .hljs-meta, .collet-view .hljs-meta .hljs-keyword { color: var(--jp-mirror-editor-meta-color, var(--vscode-descriptionForeground, #6a737d)); }
.collet-view .hljs-symbol, .collet-view .hljs-bullet, .collet-view .hljs-link { color: var(--jp-mirror-editor-atom-color, #953800); }
.collet-view .hljs-operator, .collet-view .hljs-punctuation { color: var(--jp-mirror-editor-operator-color, inherit); }
.collet-view .hljs-deletion { color: var(--collet-error); }
.collet-view .hljs-emphasis { font-style: italic; }
.collet-view .hljs-strong { font-weight: 600; }
`;

/** A short, stable hash of the sheet: two builds with the same styles share one element. */
function hash(text: string): string {
  let value = 5381;
  for (let i = 0; i < text.length; i++) {
    value = ((value * 33) ^ text.charCodeAt(i)) >>> 0;
  }
  return value.toString(36);
}

/** The id of this sheet's `<style>` element. */
export const STYLE_ID = `collet-nb-view-style-${hash(CSS)}`;

/** The sheet's text (for tests and hosts that want it). */
export function viewCss(): string {
  return CSS;
}

/** Put the renderer's styles in `doc` (once per document). */
export function injectStyles(doc: Document = document): void {
  if (doc.getElementById(STYLE_ID) !== null) {
    return;
  }
  const style = doc.createElement('style');
  style.id = STYLE_ID;
  style.textContent = CSS;
  ((doc.head as HTMLHeadElement | null) ?? doc.documentElement).append(style);
}
