/**
 * The renderer's DOM vocabulary: elements with `collet-*` classes (styled by styles.ts, the
 * same in every host). Text always goes in as text; only markdown.ts makes HTML.
 */

/** The class prefix of every element the renderer makes. */
export const CLS = 'collet';

/** A `<tag class="collet-part">` (no class for an empty part) holding `text`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  part: string,
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (part) {
    node.className = part
      .split(' ')
      .map(p => `${CLS}-${p}`)
      .join(' ');
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/**
 * `text` as nodes with each `code span` (single backticks, as the kernel writes commands in
 * its error lines) in a `<code>`; the rest stays text.
 */
export function inlineCode(text: string): Node[] {
  return text.split(/(`[^`\n]+`)/).flatMap((part): Node[] => {
    if (part === '') {
      return [];
    }
    if (part.length > 2 && part.startsWith('`') && part.endsWith('`')) {
      return [h('code', 'code', part.slice(1, -1))];
    }
    return [document.createTextNode(part)];
  });
}

/** A `<tag>` holding the given children. */
export function box<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  part: string,
  children: readonly (Node | string | null)[]
): HTMLElementTagNameMap[K] {
  const node = h(tag, part);
  for (const child of children) {
    if (child !== null) {
      node.append(child);
    }
  }
  return node;
}

export type ButtonKind = 'accept' | 'warn' | 'plain';

/** A button that runs `action` on click. */
export function button(
  label: string,
  action: () => void,
  options: { title?: string; kind?: ButtonKind } = {}
): HTMLButtonElement {
  const node = h('button', `btn btn-${options.kind ?? 'plain'}`, label);
  node.type = 'button';
  if (options.title !== undefined) {
    node.title = options.title;
  }
  node.addEventListener('click', action);
  return node;
}

/** A `<details>` with a summary line; `body` is made only when it is opened. */
export function fold(
  part: string,
  summary: string,
  body: () => Node,
  open = false
): HTMLDetailsElement {
  const details = h('details', part);
  details.append(h('summary', '', summary));
  let made = false;
  const make = (): void => {
    if (!made && details.open) {
      made = true;
      details.append(body());
    }
  };
  details.addEventListener('toggle', make);
  if (open) {
    details.open = true;
    make();
  }
  return details;
}
