"""Every teaching notebook in notebooks/ runs top to bottom headless against the demo model.

Each runs under nbclient with COLLET_HOME and the temp dir in a scratch folder (so the checkout
stays clean) within one overall budget of 60 s, and fails on any error output or stderr line,
except in cells tagged ``expect-error`` (an intended error demo), which must produce one. The
lessons' claims are checked through what they print, and every prompt they send must be one the
demo model has a script for (cells tagged ``demo-fallback`` show the answer to an unknown
prompt). Each lesson works in a fresh folder of its own per run: run twice with the same
COLLET_HOME, it makes the same claims (nothing replays the first run's saved answers), and
nothing lands beside it.
"""

import os
import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_notebook, new_output

from collet_nb.adapters.demo import load_scripts, pieces
from collet_nb.core.settings import Settings
from tests.support.fake_llm import FakeLLM, Rule
from tests.support.kernel import IPYKERNELS, ipykernel_path

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# The whole notebook, kernel start included, must finish within this (the bound).
BUDGET_SECONDS = 60.0
# A quarter of the default pace (0.02): the runs stay short, and 02's slow answer still lasts
# ≈2 s, long enough for the cells that send while it is busy (≈9 s at the default pace).
TEST_PACE = "0.005"
EXPECT_ERROR = "expect-error"  # this cell demonstrates an error: it must produce one
RAISES = "raises-exception"  # nbclient's own tag, accepted as the same promise
FALLBACK = "demo-fallback"  # this cell's prompt is meant to get the demo's fallback answer

# What each lesson says happens, as fragments of its printed output, in order.
CLAIMS: dict[str, list[str]] = {
    "01_quickstart": [
        "awaiting approval: file_write",
        "awaiting approval: bash",
        "m1 answered",
        'print("Hello, world!")',
    ],
    "02_queue": [
        "m2: what happens to messages I send while you are busy?\nm3: write a haiku",
        "removed m3 from the queue",
        "m1 answered\nm2 answered\nidle",
        "cancelled m4, m5",
        "m7 answered\nidle",
        "m6 failed: the demo provider failed on purpose",
        "retrying: sent as m8",
        "m8 answered\nidle",
        "m6  failed",
        "'answered': 4, 'cancelled': 3, 'failed': 1",
    ],
    "03_plans": [
        "m1 answered\nawaiting plan approval",
        "## Plan: a README for app.py",
        "plan approved: sent as m2",
        "awaiting approval: file_write",
        "m2 answered\nidle",
        "from app import greet",
        "m3 answered\nawaiting plan approval",
        "m4: write a haiku about queues",
        "plan saved to",
        "## Plan: tests for app.py",
        "plan rejected",
        "m4 answered\nidle",
        "tests/ exists: False\npending plan: None",
    ],
    "04_approvals": [
        "m1 answered\nidle",
        "approval manual",
        "awaiting approval: file_read",
        "m2 answered\nidle",
        "awaiting approval: file_edit",
        "(and for the rest of the session)",
        "m3 answered\nidle",
        "m4 answered\nidle",
        "- call the plumber",
        "awaiting approval: bash",
        "denied m5's bash",
        "m5 answered\nidle",
        "the user denied this bash call: keep my notes, please\nnotes.txt still there: True",
        "m3: 1 file(s): notes.txt\nm4: 1 file(s): notes.txt",
        "# Notes\n- buy milk\n- water the plants\n\n",
        "# Notes\n- buy milk\n\n",
    ],
    "05_mcp_and_skills": [
        "demo_mcp_server.py found: True",
        '"mcpServers": {\n    "lesson": {',
        "lesson: configured · stdio",
        "demo_mcp_server.py · 0 tool(s)",
        "commit-message — Writes commit messages in this project's style.",
        # Nothing known before the first turn; then the read-only lookup ran without asking.
        "no tool matches 'glossary'\nawaiting approval: mcp__lesson__word_count",
        "allowed m1's mcp__lesson__word_count",
        "m1 answered\nidle",
        "lesson: running · stdio",
        "demo_mcp_server.py · 3 tool(s)",
        "mcp__lesson__lookup_glossary: Look up a term",
        "mcp__lesson__word_count: Count the words",
        "m2 answered\nidle",
        "Skill 'commit-message'",
        "- examples.md",
        "Refs: #8",
    ],
    "06_bring_your_own_model": [
        "provider: demo",
        "API key:  not set",
        "an OpenAI key              openai    gpt-4o-mini",
        "the project's config.toml  openai    llama3.2",
        "skipped: no real model is configured",
        "m1 answered\nidle",
    ],
    "07_data": [
        "region,month,units,price\nnorth,2024-01,12,2.50",
        "awaiting approval: notebook_insert",
        "allowed m1's notebook_insert",
        "awaiting approval: notebook_run — runs proposal p1",
        "(would overwrite: data)",
        "allowed m1's notebook_run (and for the rest of the session)",
        "awaiting approval: notebook_edit — edits proposal p1",
        "m1 answered\nidle",
        "east     16.0\nnorth    67.5\nsouth    60.0",
    ],
}


# ── what a run must not show ──


def _tags(cell: NotebookNode) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _errors(cell: NotebookNode) -> list[str]:
    """The cell's error outputs (as ``error NAME: VALUE``) and stderr texts, one string each."""
    found = []
    for out in cell.get("outputs", []):
        if out.output_type == "error":
            found.append(f"error {out.ename}: {out.evalue}")
        elif out.output_type == "stream" and out.name == "stderr":
            found.append(out.text.strip())
    return found


def problems(nb: NotebookNode) -> list[str]:
    """What is wrong with an executed notebook's outputs (empty: nothing).

    An untagged cell must show no error output and nothing on stderr; a cell tagged
    ``expect-error`` (or ``raises-exception``) must show an error output or a ``collet:`` line.
    """
    found = []
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = _errors(cell)
        where = f"cell {n} ({cell.source.partition(chr(10))[0]!r})"
        if _tags(cell) & {EXPECT_ERROR, RAISES}:
            if not any(e.startswith(("error ", "collet:")) for e in errors):
                found.append(f"{where} is tagged {EXPECT_ERROR} but showed no error")
        else:
            found.extend(f"{where}: {e}" for e in errors)
    return found


def printed(nb: NotebookNode) -> str:
    """Everything the code cells showed as text: streams and plain-text results."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []) if cell.cell_type == "code" else ():
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "execute_result":
                parts.append(out.get("data", {}).get("text/plain", "") + "\n")
    return "".join(parts)


def missing_in_order(text: str, fragments: list[str]) -> list[str]:
    """The fragments not found in ``text`` one after another (empty: all there, in order)."""
    missing, at = [], 0
    for fragment in fragments:
        found = text.find(fragment, at)
        if found < 0:
            missing.append(fragment)
        else:
            at = found + len(fragment)
    return missing


# ── the checks themselves can fail ──


def _cell(source: str, *outputs: NotebookNode, tags: tuple[str, ...] = ()) -> NotebookNode:
    cell = new_code_cell(source, metadata={"tags": list(tags)} if tags else {})
    cell.outputs = list(outputs)
    return cell


def _stream(name: str, text: str) -> NotebookNode:
    return new_output("stream", name=name, text=text)


def _error() -> NotebookNode:
    return new_output("error", ename="ValueError", evalue="boom", traceback=[])


def test_an_error_output_or_any_stderr_in_an_untagged_cell_is_a_problem():
    nb = new_notebook(
        cells=[
            _cell("1/0", _error()),
            _cell("%collet /stream loud", _stream("stderr", "collet: /stream takes …\n")),
            _cell("import warnings", _stream("stderr", "UserWarning: careful\n")),
            _cell("print(1)", _stream("stdout", "1\n")),
        ]
    )
    assert [p.split(":", 1)[0] for p in problems(nb)] == [
        "cell 0 ('1/0')",
        "cell 1 ('%collet /stream loud')",
        "cell 2 ('import warnings')",
    ]


def test_a_cell_tagged_expect_error_must_show_its_error():
    silent = _cell("%collet /retry", tags=(EXPECT_ERROR,))
    warned = _cell("%collet /retry", _stream("stderr", "UserWarning: x\n"), tags=(EXPECT_ERROR,))
    assert problems(new_notebook(cells=[silent, warned])) == [
        "cell 0 ('%collet /retry') is tagged expect-error but showed no error",
        "cell 1 ('%collet /retry') is tagged expect-error but showed no error",
    ]
    said = _cell("%collet /retry", _stream("stderr", "collet: nothing\n"), tags=(EXPECT_ERROR,))
    raised = _cell("raise ValueError", _error(), tags=(RAISES,))
    assert problems(new_notebook(cells=[said, raised])) == []


def test_claims_must_appear_in_order():
    assert missing_in_order("a b c", ["a", "c"]) == []
    assert missing_in_order("a b c", ["c", "a"]) == ["a"]


# ── the demo model knows every prompt ──


_LINE_PROMPT = re.compile(r"^%collet\s+(?!/)(.+)$", re.MULTILINE)


def prompts(cell: NotebookNode) -> list[str]:
    """The messages a code cell sends: ``%%collet`` bodies and ``%collet TEXT`` lines."""
    source = cell.source
    if source.startswith("%%collet"):
        return [source.partition("\n")[2].strip()]
    return [m.group(1).strip() for m in _LINE_PROMPT.finditer(source)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_prompt_of_the_notebook_has_a_demo_script(path):
    scripts, _fallback = load_scripts()
    nb = nbformat.read(path, as_version=4)
    unknown, scripted_fallbacks = [], []
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        for prompt in prompts(cell):
            known = any(s.matches(prompt) for s in scripts)
            if FALLBACK in _tags(cell):
                if known:
                    scripted_fallbacks.append(prompt)
            elif not known:
                unknown.append(prompt)
    assert unknown == [], "add scripts for these prompts to collet_nb/adapters/demo_scripts.toml"
    assert scripted_fallbacks == [], f"these {FALLBACK} prompts match a script"


def test_the_slow_answer_of_02_leaves_time_to_send_more_while_it_streams():
    scripts, _fallback = load_scripts()
    slow = next(s for s in scripts if s.matches("count slowly to twenty"))
    delays = len(pieces(slow.steps[0].text)) * slow.pace_factor
    assert delays * Settings().demo_pace >= 8  # a person reads and runs the next cells meanwhile
    assert delays * float(TEST_PACE) >= 1  # nbclient runs them in milliseconds


# ── running them ──


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A hermetic environment: the demo model, COLLET_HOME and TMPDIR in tmp, no keys."""
    for name in list(os.environ):
        if name.startswith("COLLET_") or name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COLLET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COLLET_PROVIDER", "demo")
    monkeypatch.setenv("COLLET_DEMO_PACE", TEST_PACE)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    # The lessons' per-run folders (tempfile.mkdtemp) land in tmp_path too.
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    work = tmp_path / "work"
    work.mkdir()
    return work


def copy_lessons(dest: Path) -> Path:
    """A copy of notebooks/ at ``dest``: a kernel started there is one Jupyter starts beside a
    lesson, and whatever a lesson wrote beside itself lands in the copy, not the checkout."""
    shutil.copytree(ROOT / "notebooks", dest, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return dest


def listing(folder: Path) -> list[str]:
    """Every file and folder under ``folder``, as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def run_notebook(path: Path, work: Path, *, then: str | None = None) -> NotebookNode:
    """Execute a copy of ``path`` with ``work`` as the kernel's cwd, within BUDGET_SECONDS
    (and the cell ``then`` after the lesson's own, when given)."""
    nb = nbformat.read(path, as_version=4)
    if then is not None:
        nb.cells.append(new_code_cell(then))
    deadline = time.monotonic() + BUDGET_SECONDS

    def remaining(_cell: NotebookNode) -> int:
        # nbclient takes whole seconds and treats 0 as "no timeout": never go below 1.
        return max(1, int(deadline - time.monotonic()))

    NotebookClient(
        nb,
        timeout_func=remaining,
        kernel_name="python3",
        allow_errors=True,  # collect every error, then report them all
        resources={"metadata": {"path": str(work)}},
    ).execute()
    return nb


def faults(path: Path, nb: NotebookNode) -> list[str]:
    """What is wrong with an executed lesson: its ``problems``, the code cells that did not
    run, and its claims missing from what it printed (empty: nothing)."""
    found = problems(nb)
    found += [
        f"cell {n} did not run"
        for n, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and not cell.execution_count
    ]
    claims = CLAIMS.get(path.stem, [])
    found += [f"claim not shown: {c!r}" for c in missing_in_order(printed(nb), claims)]
    return found


# On the current ipykernel, the next test runs each lesson twice and checks all this test does
# on each run; the older ipykernels run each lesson once, here.
OLDER_IPYKERNELS = [k for k in IPYKERNELS if k != "current"]


@pytest.mark.parametrize("ipykernel", OLDER_IPYKERNELS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_notebook_runs_top_to_bottom_headless_without_errors(
    path: Path, ipykernel: str, demo_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([*ipykernel_path(ipykernel), str(ROOT)]))
    nb = run_notebook(path, demo_env)
    assert faults(path, nb) == []


# The kernel's working folder at the end of a run, printed by a cell run after the lesson's.
WHERE = "import os\nprint('cwd:', os.getcwd())"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_run_twice_with_the_same_home_makes_the_same_claims_and_writes_nothing_beside_it(
    path: Path, demo_env: Path, tmp_path: Path
) -> None:
    # Started in (a copy of) the lessons' folder, as Jupyter starts a notebook's kernel. Same
    # COLLET_HOME both times, where saved answers are kept: a second run that found the first
    # one's would replay them instead of asking the model again.
    folder = copy_lessons(tmp_path / "lessons")
    before = listing(folder)
    worked_in = []
    for run in ("first", "second"):
        nb = run_notebook(folder / path.name, folder, then=WHERE)
        assert faults(path, nb) == [], run
        worked_in.append(Path(printed(nb).rpartition("cwd: ")[2].strip()))
    # Each run worked in a folder of its own, made for it under the temp dir.
    first, second = worked_in
    assert first != second
    for where in worked_in:
        assert where.parent.resolve() == Path(os.environ["TMPDIR"]).resolve(), where
    assert listing(folder) == before


def test_the_byom_notebook_talks_to_a_configured_endpoint_and_never_shows_its_key(
    demo_env, monkeypatch, tmp_path
):
    secret = "sk-test-0123456789-never-shown"
    rules = [Rule(contains="Say hello", text="Hello from a real endpoint!"), Rule(text="Hi.")]
    with FakeLLM(rules) as llm:
        monkeypatch.delenv("COLLET_PROVIDER")
        monkeypatch.setenv("COLLET_BASE_URL", llm.base_url)
        monkeypatch.setenv("COLLET_MODEL", "fake-model")
        monkeypatch.setenv("COLLET_API_KEY", secret)
        nb = run_notebook(ROOT / "notebooks" / "06_bring_your_own_model.ipynb", demo_env)
        asked = [r.last_text for r in llm.chat_requests]
    assert problems(nb) == []
    assert "Say hello in five words." in asked
    text = printed(nb)
    assert (
        missing_in_order(text, ["provider: openai", "API key:  set", "configured: an Open"]) == []
    )
    assert secret not in nbformat.writes(nb)
    stored = [f for f in (tmp_path / "home").rglob("*") if f.is_file()]
    assert stored
    assert not [f for f in stored if secret in f.read_text(encoding="utf-8", errors="replace")]
