"""Pure HTML formatting for the widgets: safe Markdown, highlighted code, diffs, badges, cards.

All model and tool text is escaped (the HTML widget assigns innerHTML); images become links.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Pygments ships no type information (and pyproject has no override for it yet).
from pygments import lex
from pygments.lexers import get_lexer_by_name
from pygments.token import STANDARD_TYPES
from pygments.util import ClassNotFound

# Characters of a tool result shown in its card; the model still read all of it.
RESULT_CAP = 4000
# Characters of a tool call's arguments shown on its one-line summary.
SUMMARY_ARGS = 80
CONTEXT_BAR_WIDTH = 10

MESSAGE_STATES = ("queued", "running", "answered", "failed", "cancelled")
SESSION_STATES = ("idle", "running", "awaiting_approval", "awaiting_plan")

# Pygments token types → JupyterLab's editor colours (so dark themes work), with light
# fallbacks for other frontends. A token takes the colour of its nearest listed type (String.Doc
# → "s"); classes carry the "hl-" prefix to stay out of the page's way.
_TOKEN_COLOURS = {
    "k": ("--jp-mirror-editor-keyword-color", "#008000"),
    "kt": ("--jp-mirror-editor-variable-3-color", "#05a"),
    "nb": ("--jp-mirror-editor-builtin-color", "#008000"),
    "bp": ("--jp-mirror-editor-builtin-color", "#008000"),
    "nf": ("--jp-mirror-editor-def-color", "#00f"),
    "nc": ("--jp-mirror-editor-def-color", "#00f"),
    "nn": ("--jp-mirror-editor-def-color", "#00f"),
    "nd": ("--jp-mirror-editor-meta-color", "#a2f"),
    "na": ("--jp-mirror-editor-attribute-color", "#7d9029"),
    "nt": ("--jp-mirror-editor-tag-color", "#008000"),
    "nv": ("--jp-mirror-editor-variable-2-color", "#05a"),
    "no": ("--jp-mirror-editor-atom-color", "#88f"),
    "s": ("--jp-mirror-editor-string-color", "#ba2121"),
    "m": ("--jp-mirror-editor-number-color", "#080"),
    "c": ("--jp-mirror-editor-comment-color", "#408080"),
    "cp": ("--jp-mirror-editor-meta-color", "#a2f"),
    "o": ("--jp-mirror-editor-operator-color", "#a2f"),
    "ow": ("--jp-mirror-editor-keyword-color", "#a2f"),
    "gi": ("--jp-mirror-editor-string-color", "#00a000"),
    "gd": ("--jp-mirror-editor-error-color", "#a00000"),
    "err": ("--jp-mirror-editor-error-color", "#f00"),
}


def _token_css() -> str:
    return "".join(
        f".collet-md .hl-{cls}{{color:var({var},{fallback})}}"
        for cls, (var, fallback) in _TOKEN_COLOURS.items()
    )


# One stylesheet for every view; each view emits it once (in its header widget).
STYLE = (
    ".collet-md{line-height:var(--jp-content-line-height,1.6);overflow-wrap:anywhere}"
    ".collet-md>:first-child{margin-top:0}.collet-md>:last-child{margin-bottom:0}"
    ".collet-md p,.collet-md ul,.collet-md ol,.collet-md table,.collet-md blockquote"
    "{margin:0 0 .5em}"
    ".collet-md pre{margin:0 0 .5em;padding:.4em .6em;overflow-x:auto;line-height:1.4;"
    "background:var(--jp-layout-color2,#f5f5f5);border-radius:3px}"
    ".collet-md pre.collet-open-end{margin-bottom:0;padding-bottom:0;"
    "border-bottom-left-radius:0;border-bottom-right-radius:0}"
    ".collet-md pre.collet-open-start{padding-top:0;border-top-left-radius:0;"
    "border-top-right-radius:0}"
    ".collet-md code{font-family:var(--jp-code-font-family,monospace)}"
    ".collet-md table{border-collapse:collapse}"
    ".collet-md th,.collet-md td{border:1px solid var(--jp-border-color2,#ddd);padding:2px 6px}"
    + _token_css()
    + ".collet-badge{display:inline-block;padding:0 .5em;border-radius:.7em;font-size:90%;"
    "line-height:1.6;color:#fff;background:var(--jp-layout-color4,#888)}"
    ".collet-badge-running{background:var(--jp-brand-color1,#1976d2)}"
    ".collet-badge-answered,.collet-badge-idle{background:var(--jp-success-color1,#388e3c)}"
    ".collet-badge-failed{background:var(--jp-error-color1,#d32f2f)}"
    ".collet-badge-cancelled{background:var(--jp-warn-color1,#f57c00)}"
    ".collet-badge-awaiting_approval,.collet-badge-awaiting_plan"
    "{background:var(--jp-warn-color0,#e65100)}"
    ".collet-muted{color:var(--jp-ui-font-color2,#777);font-size:90%}"
    ".collet-error{color:var(--jp-error-color1,#d32f2f);white-space:pre-wrap}"
    ".collet-note{color:var(--jp-ui-font-color2,#777);font-style:italic}"
    ".collet-tool{border-left:3px solid var(--jp-border-color1,#bbb);padding-left:.5em;"
    "margin:.2em 0}"
    ".collet-tool-ok{border-left-color:var(--jp-success-color1,#388e3c)}"
    ".collet-tool-error{border-left-color:var(--jp-error-color1,#d32f2f)}"
    ".collet-tool summary{cursor:pointer;line-height:1.6}"
    ".collet-tool pre{margin:.2em 0;max-height:24em;overflow:auto;white-space:pre-wrap;"
    "line-height:1.35;font-family:var(--jp-code-font-family,monospace)}"
    ".collet-diff-add{background:rgba(46,160,67,.18)}"
    ".collet-diff-del{background:rgba(248,81,73,.18)}"
    ".collet-diff-hunk{color:var(--jp-brand-color1,#1976d2)}"
    ".collet-diff-file{font-weight:bold}"
    ".collet-status{line-height:1.6}"
    ".collet-status .collet-bar{font-family:var(--jp-code-font-family,monospace)}"
)


def style_tag() -> str:
    """The ``<style>`` element every view puts in front of its content once."""
    return f"<style>{STYLE}</style>"


def escape(text: str) -> str:
    """HTML-escape ``text`` (quotes too: values also land in attributes)."""
    return html.escape(text, quote=True)


# ── code ──


@lru_cache(maxsize=64)
def _lexer(language: str) -> Any:
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except (ClassNotFound, ValueError):
        return None


@lru_cache(maxsize=512)
def _css_class(ttype: Any) -> str | None:
    node = ttype
    while node is not None:
        short = STANDARD_TYPES.get(node)
        if short in _TOKEN_COLOURS:
            return short
        node = node.parent
    return None


def highlight_code(code: str, language: str) -> str | None:
    """``code`` as escaped HTML with ``hl-`` spans around coloured tokens; None if unknown.

    Only tokens that get a colour are wrapped (and runs of one colour merged): plain names,
    punctuation and spaces stay bare text, which keeps streamed code small.
    """
    lexer = _lexer(language.strip().lower()) if language.strip() else None
    if lexer is None:
        return None
    out: list[str] = []
    run_class: str | None = None
    run: list[str] = []

    def close_run() -> None:
        text = escape("".join(run))
        out.append(f'<span class="hl-{run_class}">{text}</span>' if run_class else text)

    for ttype, value in lex(code, lexer):
        cls = _css_class(ttype) if value.strip() else run_class
        if cls != run_class and run:
            close_run()
            run.clear()
        run_class = cls
        run.append(value)
    if run:
        close_run()
    return "".join(out)


def code_html(code: str, language: str = "") -> str:
    """A ``<pre>`` block of ``code``: highlighted when the language is known, else plain."""
    body = highlight_code(code, language)
    if body is None:
        body = escape(code)
    return f'<div class="collet-md"><pre><code>{body}</code></pre></div>'


# ── Markdown ──


def _highlight(code: str, language: str, _attrs: str) -> str:
    # An empty string tells markdown-it to escape the code itself.
    return highlight_code(code, language) or ""


def _link_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # Links from the model open outside the notebook and cannot reach back to it.
    tokens[idx].attrSet("target", "_blank")
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    return str(self.renderToken(tokens, idx, options, env))


def _image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
    # An <img> would be fetched at once: a model steered by a hostile file could leak data
    # through its URL. Show a link the user may choose to follow instead.
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env) or "image"
    src = escape(str(token.attrGet("src") or ""))
    link = f'<a href="{src}" target="_blank" rel="noopener noreferrer nofollow">'
    return f"{link}[image: {escape(alt)}]</a>"


def _make_markdown(*, highlight: bool) -> MarkdownIt:
    options: dict[str, Any] = {"html": False}
    if highlight:
        options["highlight"] = _highlight
    md = MarkdownIt("commonmark", options)
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("image", _image)
    return md


_MD = _make_markdown(highlight=True)
_MD_PLAIN = _make_markdown(highlight=False)


def markdown_tokens(source: str) -> list[Token]:
    """The block tokens of ``source``, parsed exactly as :func:`markdown_html` parses it."""
    return list(_MD.parse(source))


def markdown_html(
    source: str, *, open_start: bool = False, open_end: bool = False, highlight: bool = True
) -> str:
    """Render Markdown safely to HTML wrapped in ``<div class="collet-md">``.

    Args:
        source: Markdown written by the model.
        open_start: the first code block continues one shown above (drawn joined to it).
        open_end: the last code block continues below (drawn joined to the next piece).
        highlight: colour code blocks (streaming tails skip it: plain code is ⅓ the bytes).
    """
    body = (_MD if highlight else _MD_PLAIN).render(source)
    if open_start or open_end:
        body = _join_code_pieces(body, open_start=open_start, open_end=open_end)
    return f'<div class="collet-md">{body}</div>'


def _join_code_pieces(body: str, *, open_start: bool, open_end: bool) -> str:
    # Rendered code is escaped, so a literal "<pre>" is always markdown-it's own tag.
    first, last = body.find("<pre>"), body.rfind("<pre>")
    marks: dict[int, list[str]] = {}
    if open_start and first >= 0:
        marks.setdefault(first, []).append("collet-open-start")
    if open_end and last >= 0:
        marks.setdefault(last, []).append("collet-open-end")
    for at in sorted(marks, reverse=True):
        body = body[:at] + f'<pre class="{" ".join(marks[at])}">' + body[at + len("<pre>") :]
    return body


# ── states, notes, errors ──


def _state_class(state: str) -> str:
    return re.sub(r"[^a-z_]", "", state.lower()) or "unknown"


def badge_html(state: str, detail: str = "") -> str:
    """A coloured pill naming ``state`` (message or session state), with an optional detail."""
    label = state.replace("_", " ") + (f" · {detail.replace('_', ' ')}" if detail else "")
    return f'<span class="collet-badge collet-badge-{_state_class(state)}">{escape(label)}</span>'


def note_html(text: str) -> str:
    """A quiet one-line note (answer restarted, context compacted …)."""
    return f'<div class="collet-note">{escape(text)}</div>'


def error_html(message: str, traceback: str | None = None) -> str:
    """An error message; a traceback, when given, folded below it."""
    out = f'<div class="collet-error">{escape(message)}</div>'
    if traceback:
        out += f"<details><summary>traceback</summary><pre>{escape(traceback)}</pre></details>"
    return out


# ── tool calls ──


def pretty_arguments(arguments: str) -> str:
    """Tool arguments as indented JSON, or the raw text when it is not JSON."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def arguments_summary(arguments: str, limit: int = SUMMARY_ARGS) -> str:
    """Tool arguments on one short line (compact JSON when possible)."""
    try:
        flat = json.dumps(json.loads(arguments), ensure_ascii=False)
    except ValueError:
        flat = arguments
    return _one_line(flat, limit)


def truncate(text: str, cap: int = RESULT_CAP) -> str:
    """``text`` cut to ``cap`` characters, saying how much was left out."""
    if len(text) <= cap:
        return text
    return f"{text[:cap]}\n… [{len(text) - cap:,} more characters]"


_DIFF_START = re.compile(r"^--- .*\n\+\+\+ .*\n@@", re.MULTILINE)


def split_diff(content: str) -> tuple[str, str] | None:
    """Split a tool result into (text before, unified diff), or None when it holds no diff.

    A diff starts at a ``--- `` line followed by a ``+++ `` line and a ``@@`` hunk header.
    """
    found = _DIFF_START.search(content)
    if found is None:
        return None
    return content[: found.start()], content[found.start() :]


def diff_html(diff: str) -> str:
    """A unified diff as ``<pre>`` with added, removed, hunk and file lines coloured."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("--- ", "+++ ")):
            cls = "collet-diff-file"
        elif line.startswith("@@"):
            cls = "collet-diff-hunk"
        elif line.startswith("+"):
            cls = "collet-diff-add"
        elif line.startswith("-"):
            cls = "collet-diff-del"
        else:
            lines.append(escape(line))
            continue
        lines.append(f'<span class="{cls}">{escape(line)}</span>')
    return '<pre class="collet-diff">' + "\n".join(lines) + "</pre>"


def tool_result_html(content: str, *, cap: int = RESULT_CAP) -> str:
    """A tool result cut to ``cap``: a diff in it is coloured, everything else is plain."""
    shown = truncate(content, cap)
    parts = split_diff(shown)
    if parts is None:
        return f"<pre>{escape(shown)}</pre>"
    before, diff = parts
    head = f"<pre>{escape(before.strip())}</pre>" if before.strip() else ""
    return head + diff_html(diff)


def tool_card_html(
    *,
    name: str,
    arguments: str,
    result: str | None = None,
    is_error: bool = False,
    duration_s: float | None = None,
    waiting: str = "",
    cap: int = RESULT_CAP,
) -> str:
    """A collapsible card for one tool call: ✓/✗/… mark, name, duration, arguments, result.

    Args:
        name: the tool's name.
        arguments: the raw JSON arguments the model sent.
        result: what the tool returned (None while it runs).
        is_error: whether the result is an error.
        duration_s: how long the call took.
        waiting: what the call waits for, shown while there is no result.
        cap: characters of the result shown.
    """
    if result is None:
        mark, kind = "…", "pending"
    elif is_error:
        mark, kind = "✗", "error"
    else:
        mark, kind = "✓", "ok"
    meta = []
    if result is not None and duration_s is not None:
        meta.append(f"{duration_s:.2f} s")
    if result is None and waiting:
        meta.append(waiting)
    meta_html = f' <span class="collet-muted">{escape(" · ".join(meta))}</span>' if meta else ""
    summary = (
        f"<summary>{mark} <code>{escape(name)}</code> "
        f'<span class="collet-muted">{escape(arguments_summary(arguments))}</span>'
        f"{meta_html}</summary>"
    )
    pretty = escape(pretty_arguments(arguments))
    body = f'<div class="collet-muted">arguments</div><pre>{pretty}</pre>'
    if result is not None:
        label = "error" if is_error else "result"
        body += f'<div class="collet-muted">{label}</div>{tool_result_html(result, cap=cap)}'
    return f'<details class="collet-tool collet-tool-{kind}">{summary}{body}</details>'


def approval_html(name: str, arguments: str) -> str:
    """The tool call an approval is about: its name and full, indented arguments."""
    return (
        f'<div class="collet-tool">? <code>{escape(name)}</code> wants to run with:'
        f"<pre>{escape(truncate(pretty_arguments(arguments)))}</pre></div>"
    )


# ── the status line ──


def human_count(n: int) -> str:
    """1234 → ``1.2k``, 3_400_000 → ``3.4M``."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k"
    return f"{n / 1_000_000:.1f}M"


def context_bar(used: int, budget: int, width: int = CONTEXT_BAR_WIDTH) -> str:
    """``45% ▰▰▰▰▱▱▱▱▱▱``: how much of the context budget is used (clamped to 0–100 %)."""
    if budget <= 0:
        return "n/a"
    share = min(max(used / budget, 0.0), 1.0)
    filled = round(share * width)
    return f"{round(share * 100)}% " + "▰" * filled + "▱" * (width - filled)


def status_text(status: Mapping[str, Any], *, phase: str = "") -> str:
    """The status line from a ``status()`` dict: state, agent, model, iteration, tokens, context.

    Example: ``running (thinking) · code · demo · iteration 2 · tokens 1.2k in / 340 out ·
    context 12% ▰▱▱▱▱▱▱▱▱▱ · 1 queued``.
    """
    state = str(status.get("state", "idle")).replace("_", " ")
    if phase and phase != "idle" and status.get("busy"):
        state += f" ({phase.replace('_', ' ')})"
    tokens = status.get("tokens") or {}
    context = status.get("context") or {}
    parts = [
        state,
        str(status.get("agent", "")),
        str(status.get("model", "")),
        f"iteration {int(status.get('iterations', 0))}",
        f"tokens {human_count(int(tokens.get('prompt', 0)))} in / "
        f"{human_count(int(tokens.get('completion', 0)))} out",
        "context " + context_bar(int(context.get("used", 0)), int(context.get("budget", 0))),
    ]
    queued = sum(1 for m in status.get("messages", ()) if m.get("state") == "queued")
    if queued:
        parts.append(f"{queued} queued")
    return " · ".join(p for p in parts if p)


def status_html(status: Mapping[str, Any], *, phase: str = "") -> str:
    """The status line as HTML: a badge for the session state, then :func:`status_text`."""
    return (
        f'<div class="collet-status">{badge_html(str(status.get("state", "idle")))} '
        f"{escape(status_text(status, phase=phase))}</div>"
    )


def message_line_html(message_id: str, text: str, limit: int = 100) -> str:
    """A queued message on one line: its id and the start of its text."""
    return f"<code>{escape(message_id)}</code> {escape(_one_line(text, limit))}"
