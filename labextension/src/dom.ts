/**
 * The sidebar's DOM vocabulary: elements with the `jp-ColletSidebar-*` classes, buttons in
 * JupyterLab's style. Text always goes in as text (never as HTML).
 */

/** The class prefix of every element the sidebar makes. */
export const PREFIX = 'jp-ColletSidebar';

/** A `<tag class="jp-ColletSidebar-part">` (no class for an empty part) holding `text`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  part: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (part) {
    node.className = `${PREFIX}-${part}`;
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** A styled button that runs `action` on click. */
export function button(
  label: string,
  action: () => void,
  options: { title?: string; kind?: 'accept' | 'warn' | 'reject' } = {}
): HTMLButtonElement {
  const node = document.createElement('button');
  node.type = 'button';
  node.className = `jp-Button jp-mod-styled ${PREFIX}-button`;
  if (options.kind !== undefined) {
    node.classList.add(`jp-mod-${options.kind}`);
  }
  node.textContent = label;
  if (options.title !== undefined) {
    node.title = options.title;
  }
  node.addEventListener('click', action);
  return node;
}

/** A badge for a session or message state (`data-state` carries the raw state for CSS). */
export function badge(state: string, text: string): HTMLSpanElement {
  const node = el('span', 'badge', text);
  node.dataset.state = state;
  return node;
}

/** Replace `parent`'s children with `children`. */
export function fill(parent: HTMLElement, children: readonly Node[]): void {
  parent.replaceChildren(...children);
}

/** Whether `node` is scrolled (nearly) to its end: then new content keeps it there. */
export function atEnd(node: HTMLElement): boolean {
  return node.scrollHeight - node.scrollTop - node.clientHeight < 24;
}
