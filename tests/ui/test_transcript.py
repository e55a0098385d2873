"""The static transcript says what happened, in order, in plain Markdown."""

import json

from collet_nb.ui.transcript import Transcript, placeholder
from tests.support.golden import FIXTURES


def transcript_of(name: str) -> Transcript:
    t = Transcript()
    for event in json.loads((FIXTURES / f"{name}.json").read_text())["events"]:
        t.add(event)
    return t


def in_order(text: str, *fragments: str) -> bool:
    at = 0
    for fragment in fragments:
        at = text.find(fragment, at)
        if at < 0:
            return False
        at += len(fragment)
    return True


def test_a_tool_call_shows_what_it_does_its_decision_and_its_result_in_order():
    md = transcript_of("tool_approval").markdown()
    assert in_order(
        md,
        "**m1** · you asked:\n\n> update the README",
        "I'll update the README.",
        "**file_write** `README.md` — overwrites",
        "```diff\n--- a/README.md",
        "> **file_write** allowed once by button at ",
        "wrote 15 bytes to README.md",
        "Done: **README.md** is written.",
        "*m1 answered*",
        "> **file_edit** denied by sidebar at ",
        ": keep the old name",
    )
    assert '"path"' not in md  # what the call does, not its JSON


def test_a_plan_shows_with_its_decision_and_the_message_that_carried_it_out():
    md = transcript_of("plan_approved").markdown()
    assert in_order(
        md,
        "## Plan",
        "> **plan approved** by sidebar at ",
        "note: keep it short; carried out as m2",
        "**m2** · you asked:",
    )


def test_a_failed_message_says_why_and_what_to_do_and_cancelled_ones_say_so():
    md = transcript_of("failure_retry_cancel").markdown()
    assert "**m1 failed**: RuntimeError: the demo provider failed on purpose — retried as m2" in md
    assert "*m3 cancelled: cancelled by the user*" in md
    t = Transcript()
    t.add({"type": "message_state", "message_id": "m1", "state": "queued", "text": "go"})
    t.add({"type": "message_status", "message_id": "m1", "status": "failed", "error": "HTTP 503"})
    assert "**m1 failed**: HTTP 503 — `%collet /retry` sends it again" in t.markdown()


def test_long_results_fold_and_backticks_in_them_cannot_break_out():
    t = Transcript()
    t.add({"type": "message_state", "message_id": "m1", "state": "queued", "text": "read"})
    t.add({"type": "tool_call", "message_id": "m1", "call_id": "c", "name": "file_read",
           "arguments": '{"path": "a.md"}', "preview": {"kind": "args"}})  # fmt: skip
    content = "```\n<script>alert(1)</script>\n" + "line\n" * 40
    t.add({"type": "tool_result", "message_id": "m1", "call_id": "c", "name": "file_read",
           "content": content, "is_error": False})  # fmt: skip
    md = t.markdown()
    assert "<details><summary>result (" in md
    assert "````\n```\n<script>" in md  # a longer fence: the inner one stays text
    assert md.count("<script>") == 1  # only inside the code block


def test_while_it_runs_a_reader_without_the_kernel_sees_one_line_that_says_so():
    t = Transcript()
    t.add({"type": "message_state", "message_id": "m2", "state": "running", "text": "go"})
    t.add({"type": "message_status", "message_id": "m2", "status": "awaiting_approval"})
    assert not t.ended()
    assert "m2 is awaiting approval" in t.markdown()
    assert placeholder("m2").count("\n") == 1
    assert "m2 is running" in placeholder("m2")


def test_raw_html_in_an_answer_becomes_text_but_code_keeps_its_angle_brackets():
    from collet_nb.ui.transcript import safe_markdown

    answer = "Hi <script>x()</script> and `List<int>` a < b\n```html\n<b>kept</b>\n```\n<style>"
    assert safe_markdown(answer) == (
        "Hi &lt;script>x()&lt;/script> and `List<int>` a < b\n```html\n<b>kept</b>\n```\n&lt;style>"
    )


def test_a_message_of_several_lines_keeps_its_lines_and_carries_no_html():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    t = Transcript()
    text = "first line\nsecond line\n\nafter a blank <script>x()</script>"
    t.add({"type": "message_state", "message_id": "m1", "state": "running", "text": text})
    html = markdown2html_mistune(t.markdown())
    assert "first line<br" in html
    assert "second line" in html
    assert html.count("<p>") >= 3  # the blank line still parts paragraphs
    assert "<script>" not in html


def test_a_failed_message_whose_retry_has_not_arrived_yet_has_not_ended():
    t = Transcript()
    t.add({"type": "message_state", "message_id": "m1", "state": "failed", "text": "go"})
    t.add({"type": "message_status", "message_id": "m1", "status": "failed", "error": "x",
           "retried_by": "m2"})  # fmt: skip
    assert not t.ended()  # m2 comes in the next batch
    t.add({"type": "message_state", "message_id": "m2", "state": "queued", "text": "go"})
    t.add({"type": "message_status", "message_id": "m2", "status": "answered"})
    assert t.ended()


def test_a_servers_question_and_its_model_request_are_said_with_their_answers():
    from collet_nb.core.events import (
        ApprovalResolved,
        ElicitationRequested,
        ElicitationResolved,
        ToolCallStarted,
        ToolResultReady,
    )
    from collet_nb.core.sampling import SampledMessage, SamplingRequest

    request = SamplingRequest(
        server="t", messages=(SampledMessage(role="user", text="Summarize: the cat sat"),),
        max_tokens=40, system_prompt="Be brief.",
    )  # fmt: skip
    t = Transcript()
    for event in (
        ToolCallStarted(message_id="m1", call_id="s1", name="sampling:t", arguments="{}",
                        preview=request.preview("fake-model")),
        ApprovalResolved(message_id="m1", call_id="s1", decision="allow_once", by="command",
                         name="sampling:t"),
        ToolResultReady(message_id="m1", call_id="s1", name="sampling:t", content="A cat sat.",
                        is_error=False),
        ElicitationRequested(message_id="m1", elicitation_id="e1", server="t",
                             message="Who is <asking>?"),
        ElicitationResolved(message_id="m1", elicitation_id="e1", action="accept",
                            content='{"name": "Ada"}', by="sidebar", server="t"),
    ):  # fmt: skip
        t.add(event.to_dict())
    md = t.markdown()
    assert in_order(
        md,
        "**sampling:t** — MCP server `t` asks the model fake-model (up to 40 tokens)",
        "system: Be brief.\nuser: Summarize: the cat sat",
        "> **sampling:t** allowed once by command",
        "A cat sat.",
        "> **MCP server t asked** (e1): Who is &lt;asking>? — answered by sidebar: "
        '`{"name": "Ada"}`',
    )
