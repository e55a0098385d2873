"""The pure HTML helpers: nothing from the model becomes live HTML; code, diffs, cards, status."""

import re

import pytest

from collet_nb.ui.render import (
    STYLE,
    approval_html,
    arguments_summary,
    badge_html,
    context_bar,
    diff_html,
    error_html,
    highlight_code,
    markdown_html,
    split_diff,
    status_html,
    status_text,
    tool_card_html,
    tool_result_html,
    truncate,
)

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    '<a href="javascript:alert(3)">x</a> [click](javascript:alert(4)) '
    "<iframe src=//evil></iframe> <style>body{display:none}</style>"
)


def tags(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html)}


def test_raw_html_and_script_links_in_model_text_come_out_escaped():
    html = markdown_html(HOSTILE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert tags(html) <= {"div", "p"}
    assert 'href="javascript' not in html


def test_hostile_text_stays_escaped_in_every_helper():
    outputs = [
        badge_html(HOSTILE, HOSTILE),
        error_html(HOSTILE, HOSTILE),
        tool_card_html(name=HOSTILE, arguments=HOSTILE, result=HOSTILE, waiting=HOSTILE),
        approval_html(HOSTILE, HOSTILE),
        tool_result_html(f"{HOSTILE}\n--- a\n+++ b\n@@ -1 +1 @@\n-{HOSTILE}\n+{HOSTILE}"),
        status_html({"state": HOSTILE, "agent": HOSTILE, "model": HOSTILE}),
    ]
    for html in outputs:
        assert not tags(html) & {"script", "img", "iframe", "style", "a"}, html
        assert "onerror=alert(2)&gt;" in html


def test_images_become_links_so_nothing_is_fetched_and_links_open_outside_the_notebook():
    html = markdown_html("![chart](https://example.com/x.png?leak=1) see [docs](https://d.org)")
    assert "<img" not in html
    assert '<a href="https://example.com/x.png?leak=1"' in html
    assert "[image: chart]" in html
    assert 'href="https://d.org" target="_blank" rel="noopener noreferrer nofollow"' in html


def test_code_blocks_are_highlighted_with_classes_the_stylesheet_colours():
    html = markdown_html('```python\ndef f(x):\n    return "<b>"  # note\n```\n')
    assert '<code class="language-python">' in html
    assert '<span class="hl-k">def </span>' in html
    assert '<span class="hl-nf">f</span>' in html
    assert "&quot;&lt;b&gt;&quot;" in html
    used = set(re.findall(r'class="(hl-[a-z]+)"', html))
    assert used
    assert all(f".collet-md .{cls}{{" in STYLE for cls in used)


def test_an_unknown_or_missing_language_is_shown_plain_and_escaped():
    for fence in ("```klingon\n", "```\n"):
        html = markdown_html(f"{fence}<b>bold</b> & more\n```\n")
        assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
        assert "hl-" not in html
    assert highlight_code("x", "klingon") is None


def test_a_hostile_fence_language_cannot_break_out_of_its_attribute():
    html = markdown_html('```python" onmouseover="alert(1)\nx\n```\n')
    assert 'onmouseover="' not in html
    assert "&quot;" in html


def test_tails_can_skip_highlighting_and_split_code_pieces_are_marked_to_join():
    assert "hl-" not in markdown_html("```python\ndef f(): pass\n```\n", highlight=False)
    first = markdown_html("```py\na = 1\n```\n", open_end=True)
    rest = markdown_html("```py\nb = 2\n```\n", open_start=True)
    assert '<pre class="collet-open-end">' in first
    assert '<pre class="collet-open-start">' in rest
    both = markdown_html("```py\nc\n```\n", open_start=True, open_end=True)
    assert '<pre class="collet-open-start collet-open-end">' in both


def test_a_diff_in_a_file_edit_result_is_coloured_line_by_line():
    content = (
        "replaced 1 occurrence in app.py\n\n"
        "--- a/app.py\n+++ b/app.py\n@@ -1,2 +1,2 @@\n keep\n-old <x>\n+new <y>"
    )
    before, diff = split_diff(content) or ("", "")
    assert before.strip() == "replaced 1 occurrence in app.py"
    assert diff.startswith("--- a/app.py\n")
    html = tool_result_html(content)
    assert "<pre>replaced 1 occurrence in app.py</pre>" in html
    assert '<span class="collet-diff-file">--- a/app.py</span>' in html
    assert '<span class="collet-diff-file">+++ b/app.py</span>' in html
    assert '<span class="collet-diff-hunk">@@ -1,2 +1,2 @@</span>' in html
    assert '<span class="collet-diff-del">-old &lt;x&gt;</span>' in html
    assert '<span class="collet-diff-add">+new &lt;y&gt;</span>' in html
    assert "\n keep\n" in html


def test_text_with_dashes_but_no_hunk_is_not_taken_for_a_diff():
    assert split_diff("--- a list item\n+++ not a diff\nplain") is None
    assert "collet-diff" not in tool_result_html("-1 and +2\n--- end")
    assert diff_html("-x").startswith('<pre class="collet-diff">')


def test_long_results_are_cut_to_the_cap_saying_how_much_was_left_out():
    assert truncate("abcdef", 4) == "abcd\n… [2 more characters]"
    assert truncate("abc", 4) == "abc"
    html = tool_result_html("y" * 10_000, cap=100)
    assert "y" * 100 in html
    assert "y" * 101 not in html
    assert "9,900 more characters" in html


@pytest.mark.parametrize(
    ("result", "is_error", "mark", "kind"),
    [(None, False, "…", "pending"), ("ok", False, "✓", "ok"), ("boom", True, "✗", "error")],
)
def test_a_tool_card_shows_its_mark_name_duration_arguments_and_result(
    result, is_error, mark, kind
):
    html = tool_card_html(
        name="file_read",
        arguments='{"path": "a.py", "limit": 3}',
        result=result,
        is_error=is_error,
        duration_s=0.25,
        waiting="waiting for approval",
    )
    assert html.startswith(f'<details class="collet-tool collet-tool-{kind}">')
    assert f"<summary>{mark} <code>file_read</code>" in html
    assert "{\n  &quot;path&quot;: &quot;a.py&quot;,\n  &quot;limit&quot;: 3\n}" in html
    if result is None:
        assert "waiting for approval" in html
        assert "0.25 s" not in html
    else:
        assert "0.25 s" in html
        assert f"<pre>{result}</pre>" in html
        assert ("error" if is_error else "result") + "</div>" in html


def test_arguments_that_are_not_json_are_shown_as_they_came():
    assert arguments_summary("{not json") == "{not json"
    assert arguments_summary('{"a": "' + "x" * 200 + '"}', 20).endswith("…")
    assert "{not json" in tool_card_html(name="t", arguments="{not json")


@pytest.mark.parametrize(
    "state",
    ["queued", "running", "answered", "failed", "cancelled", "idle", "awaiting_approval"],
)
def test_each_state_has_a_badge_with_its_own_colour(state):
    html = badge_html(state)
    assert f'class="collet-badge collet-badge-{state}"' in html
    assert state.replace("_", " ") in html
    if state not in ("queued",):
        assert f"collet-badge-{state}" in STYLE


def test_a_badge_never_puts_foreign_characters_into_its_class():
    assert 'class="collet-badge collet-badge-xonclickalert"' in badge_html('x" onclick="alert')
    assert "running · thinking" in badge_html("running", "thinking")


STATUS = {
    "state": "running",
    "busy": True,
    "agent": "code",
    "model": "gpt-test",
    "iterations": 3,
    "tokens": {"prompt": 12_345, "completion": 678},
    "context": {"used": 4_500, "budget": 10_000},
    "messages": [{"id": "m1", "state": "running"}, {"id": "m2", "state": "queued"}],
}


def test_the_status_line_reports_state_agent_model_iteration_tokens_context_and_queue():
    assert status_text(STATUS, phase="thinking") == (
        "running (thinking) · code · gpt-test · iteration 3 · tokens 12.3k in / 678 out · "
        "context 45% ▰▰▰▰▱▱▱▱▱▱ · 1 queued"
    )
    idle = {**STATUS, "state": "awaiting_plan", "busy": False, "messages": []}
    assert status_text(idle, phase="thinking").startswith("awaiting plan · code")
    html = status_html(STATUS)
    assert "collet-badge-running" in html


def test_the_context_bar_is_clamped_and_copes_with_no_budget():
    assert context_bar(0, 100) == "0% ▱▱▱▱▱▱▱▱▱▱"
    assert context_bar(250, 100) == "100% ▰▰▰▰▰▰▰▰▰▰"
    assert context_bar(5, 0) == "n/a"
    assert context_bar(1, 4, width=4) == "25% ▰▱▱▱"
