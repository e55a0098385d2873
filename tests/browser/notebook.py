"""Drives JupyterLab in the browser the way a person does: open a notebook, type and run
cells, open the collet sidebar, type in its send box, click its buttons.

Every wait is Playwright's bounded ``expect`` / ``wait_for_function`` (no sleeps).
"""

from __future__ import annotations

from typing import Any

from tests.browser.lab import Lab

SIDEBAR = "#collet-nb-sidebar"
SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="collet-nb-sidebar"]'

# The current notebook's kernel is connected and idle (typing before that drops keys).
KERNEL_IDLE = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle';
}"""

# Records every length the answer of one message takes in a container, to prove it streamed.
WATCH_LENGTHS = """([root, selector, key]) => {
  window.__colletLengths = window.__colletLengths || {};
  const seen = window.__colletLengths[key] = [];
  const record = () => {
    const node = document.querySelector(root).querySelector(selector);
    const n = node ? node.textContent.length : 0;
    if (n && seen[seen.length - 1] !== n) { seen.push(n); }
  };
  new MutationObserver(record).observe(document.querySelector(root),
    {childList: true, subtree: true, characterData: true});
}"""

# Records every word the status pill of one message shows in a container, in order.
WATCH_WORDS = """([root, messageId, key]) => {
  window.__colletWords = window.__colletWords || {};
  const seen = window.__colletWords[key] = [];
  const container = document.querySelector(root);
  const pill = `.collet-message[data-message-id="${messageId}"] .collet-pill`;
  const record = () => {
    const node = container.querySelector(pill);
    const word = node ? node.textContent : '';
    if (word && seen[seen.length - 1] !== word) { seen.push(word); }
  };
  new MutationObserver(record).observe(container,
    {childList: true, subtree: true, characterData: true});
}"""


class Notebook:
    """One browser page on one JupyterLab."""

    def __init__(self, page: Any, lab: Lab) -> None:
        self.page = page
        self.lab = lab

    # ── notebooks and cells ──

    def open(self, name: str, *sources: str) -> None:
        """Create notebook ``name`` and open it (first time: load the lab at its URL)."""
        self.lab.write_notebook(name, *sources)
        if self.page.url.startswith(self.lab.url):
            self.page.evaluate(
                "(path) => window.jupyterapp.commands.execute('docmanager:open', {path})", name
            )
        else:
            self.page.goto(f"{self.lab.url}/lab/tree/{name}")
        self.page.locator(
            ".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current", has_text=name
        ).wait_for(timeout=60_000)
        self.wait_kernel_idle()

    def activate(self, name: str) -> None:
        """Bring the tab of notebook ``name`` to the front."""
        self.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name).click()

    def wait_kernel_idle(self, timeout: float = 60_000) -> None:
        self.page.wait_for_function(KERNEL_IDLE, timeout=timeout)

    def run(self, code: str) -> None:
        """Type ``code`` into the last code cell and run it with Shift+Enter (a transcript the
        sidebar inserts is a Markdown cell below the active one, so it may come last)."""
        self.wait_kernel_idle()
        editor = self.page.locator(".jp-NotebookPanel:visible .jp-CodeCell").last.locator(
            ".cm-content"
        )
        editor.click()
        self.page.keyboard.insert_text(code)
        self.page.keyboard.press("Shift+Enter")

    def cell_view(self, index: int) -> Any:
        """The live message view (anywidget) in the output of code cell ``index``."""
        return self.cell_output(index).locator(".collet-view")

    def save(self) -> None:
        """Save the current notebook (File → Save), and wait for the save to finish."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")

    def reload(self) -> None:
        """Reload the page (leaving without a prompt) and wait for the notebook's kernel."""
        self.page.once("dialog", lambda dialog: dialog.accept())  # "leave the page?"
        self.page.reload()
        self.wait_kernel_idle()

    def cell_output(self, index: int) -> Any:
        """The output area of code cell ``index`` (0-based) of the visible notebook."""
        return (
            self.page.locator(".jp-NotebookPanel:visible .jp-CodeCell")
            .nth(index)
            .locator(".jp-OutputArea")
        )

    # ── the sidebar ──

    def open_sidebar(self, width: int = 400) -> Any:
        """Click the collet tab of the left sidebar, drag it ``width`` px wide; return it."""
        panel = self.page.locator(SIDEBAR)
        if not panel.is_visible():
            self.page.locator(SIDEBAR_TAB).click()
        panel.wait_for(state="visible")
        box = self.page.locator("#jp-left-stack").bounding_box()
        if box is not None and box["width"] < width:
            # The split handle sits on the stack's right edge, as a person would drag it.
            x, y = box["x"] + box["width"] + 1, box["y"] + box["height"] / 2
            self.page.mouse.move(x, y)
            self.page.mouse.down()
            self.page.mouse.move(box["x"] + width, y, steps=4)
            self.page.mouse.up()
        return panel

    @property
    def sidebar(self) -> Any:
        return self.page.locator(SIDEBAR)

    def entry(self, message_id: str) -> Any:
        """The conversation entry of ``message_id`` in the sidebar."""
        return self.sidebar.locator(f'.collet-message[data-message-id="{message_id}"]')

    def type_in_sidebar(self, *lines: str) -> None:
        """Type ``lines`` in the send box (Shift+Enter between them), then press Enter."""
        box = self.sidebar.locator(".jp-ColletSidebar-input")
        box.click()
        for i, line in enumerate(lines):
            if i:
                self.page.keyboard.press("Shift+Enter")
            self.page.keyboard.insert_text(line)
        self.page.keyboard.press("Enter")

    def watch_lengths(self, root: str, selector: str, key: str) -> None:
        """Start recording the text lengths ``selector`` (inside ``root``) goes through."""
        self.page.evaluate(WATCH_LENGTHS, [root, selector, key])

    def lengths(self, key: str) -> list[int]:
        return list(self.page.evaluate("(key) => window.__colletLengths[key]", key))

    def watch_words(self, root: str, message_id: str, key: str) -> None:
        """Start recording the words the status pill of ``message_id`` (in ``root``) shows."""
        self.page.evaluate(WATCH_WORDS, [root, message_id, key])

    def words(self, key: str) -> list[str]:
        return list(self.page.evaluate("(key) => window.__colletWords[key]", key))
