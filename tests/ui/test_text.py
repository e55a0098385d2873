from collet_nb.core.events import (
    ErrorRaised,
    MessageStateChanged,
    TextDelta,
    ToolCallStarted,
    ToolResultReady,
)
from collet_nb.ui.text import TextRenderer


def test_deltas_stream_inline_and_other_events_get_lines_of_their_own():
    out: list[str] = []
    render = TextRenderer(out.append)
    for ev in (
        MessageStateChanged(message_id="m1", state="running"),
        TextDelta(message_id="m1", text="Writing "),
        TextDelta(message_id="m1", text="it."),
        ToolCallStarted(message_id="m1", call_id="c", name="file_write", arguments='{"path":"a"}'),
        ToolResultReady(
            message_id="m1", call_id="c", name="file_write", content="ok", is_error=False
        ),
        ErrorRaised(message_id="m1", error="provider down"),
        MessageStateChanged(message_id="m1", state="failed", error="provider down"),
    ):
        render(ev)
    assert "".join(out) == (
        "[m1 running]\n"
        "Writing it.\n"
        '→ file_write {"path": "a"}\n'
        "✓ file_write (0.00 s): ok\n"
        "! provider down\n"
        "[m1 failed: provider down]\n"
    )


def test_long_tool_results_are_shortened_to_one_line():
    out: list[str] = []
    TextRenderer(out.append)(
        ToolResultReady(
            message_id="m1", call_id="c", name="bash", content="x\n" * 500, is_error=True
        )
    )
    line = "".join(out)
    assert line.startswith("✗ bash")
    assert line.count("\n") == 1
    assert len(line) < 260


def test_a_servers_question_and_its_answer_get_a_line_each():
    from collet_nb.core.events import ElicitationRequested, ElicitationResolved

    out: list[str] = []
    render = TextRenderer(out.append)
    render(ElicitationRequested(message_id="m1", elicitation_id="e1", server="t", message="Who?"))
    render(ElicitationResolved(message_id="m1", elicitation_id="e1", action="accept",
                               content='{"name": "Ada"}', server="t"))  # fmt: skip
    assert "".join(out) == (
        "? MCP server 't' asks (e1): Who? — /answer {…} or /decline\n"
        '  e1 accept: {"name": "Ada"}\n'
    )
