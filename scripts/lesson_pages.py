"""The static pages of the lessons: docs/lessons/NN_name.md, one per notebooks/NN_name.ipynb.

The notebooks stay unexecuted in the repository; each page is made from a real headless run
of its lesson, as the lesson tests run it (nbclient, the offline demo model at a quick pace, a
scratch COLLET_HOME and TMPDIR, the checkout on PYTHONPATH), and shows the lesson's prose, each
code cell in a fence and what it printed or showed: streams and results in fences, the agent's
transcripts (text/markdown) as Markdown. Every output sits in a blockquote, so it reads apart
from the prose around it.

What changes from run to run or machine to machine is replaced by placeholders: the scratch
folders, the checkout, the interpreter, clock times, saved-plan stamps and session ids. The
scratch folder's path has a fixed length on every machine, so the token counts the lessons
print (the system prompt names the project folder) and the folding of long tool results are
the same everywhere too. A display update is applied whenever it comes, as in a front end, and
a page counts once two sightings agree (the committed page and a run, or two runs), so a run on
a busy machine that cancelled a message a few words later is outvoted.

    .venv/bin/python scripts/lesson_pages.py            # run every lesson, write its page
    .venv/bin/python scripts/lesson_pages.py --check    # exit 1 naming the stale pages
    .venv/bin/python scripts/lesson_pages.py 02 05      # only these lessons
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete
from nbclient.util import ensure_async
from nbformat import NotebookNode

from collet_nb.ui.transcript import outside_code

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
PAGES = ROOT / "docs" / "lessons"
SCRIPT = "scripts/lesson_pages.py"
COMMAND = f".venv/bin/python {SCRIPT}"
# As in tests/kernel/test_demo_notebooks.py: short runs, and 02's slow answer still lasts ≈2 s.
PACE = "0.005"
BUDGET_SECONDS = 60.0  # per lesson, kernel start included
# The scratch TMPDIR's path is padded to this many characters (see ``scratch``): room for
# /tmp/collet-XXXXXXXX on Linux and /private/tmp/collet-XXXXXXXX on macOS.
TMP_CHARS = 32
EXPECT_ERROR = {"expect-error", "raises-exception"}  # cells whose error output is the point
DIFF_LINES = 40  # of each stale page's diff, shown by --check
RUNS = 3  # at most, of one lesson, until two sightings of its page agree (see ``reproduced``)
MARKDOWN = "text/markdown"
PLAIN = "text/plain"

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Placeholders for what differs between runs (applied after the paths).
_VARYING: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?\b"), "YYYY-MM-DD HH:MM"),
    (re.compile(r"\b(at|on) \d\d:\d\d(:\d\d)?\b"), r"\1 HH:MM"),
    (re.compile(r"\bplan_\d{8}_\d{6}\b"), "plan_YYYYMMDD_HHMMSS"),
    (re.compile(r"\b[0-9a-f]{32}\b"), "SESSION_ID"),
    (re.compile(r"\bPython 3\.\d+\.\d+\S*"), "Python 3.X"),
    (re.compile(r"\bpython3\.\d+\b"), "python3.X"),
]


# ── running a lesson ──


class LessonError(Exception):
    """A lesson could not make its page (it did not run cleanly, or no scratch folder)."""


@dataclass(frozen=True, kw_only=True)
class Scratch:
    """Where one lesson runs: its kernel's cwd, COLLET_HOME and TMPDIR, all fresh."""

    root: Path
    work: Path
    home: Path
    tmp: Path


def scratch() -> Scratch:
    """Fresh folders for one run; TMPDIR's path is exactly ``TMP_CHARS`` long (resolved, as
    the kernel's ``os.getcwd()`` will say it), so a lesson folder made in it has the same
    length on every machine and so has every prompt or result that names it (the lessons
    print token counts, and a tool result over 600 characters is folded)."""
    bases = [tempfile.gettempdir(), *(["/tmp"] if os.name == "posix" else [])]
    for base in bases:
        root = Path(tempfile.mkdtemp(prefix="collet-", dir=base)).resolve()
        pad = TMP_CHARS - len(str(root / "t"))
        if pad >= 0:
            tmp = root / ("t" * (pad + 1))
            folders = Scratch(root=root, work=root / "work", home=root / "home", tmp=tmp)
            for folder in (folders.work, folders.tmp):
                folder.mkdir()
            return folders
        root.rmdir()
    raise LessonError(
        f"{COMMAND} needs a temp folder whose path has at most {TMP_CHARS - 18} characters: "
        "set TMPDIR to a shorter one"
    )


def kernel_env(where: Scratch) -> dict[str, str]:
    """The environment of the lesson's kernel: the demo model, no keys, the checkout's code."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("COLLET_")
        and k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "JPY_SESSION_NAME")
    }
    env.update(
        COLLET_HOME=str(where.home),
        COLLET_PROVIDER="demo",
        COLLET_DEMO_PACE=PACE,
        PYTHONPATH=str(ROOT),
        TMPDIR=str(where.tmp),
        IPYTHONDIR=str(where.root / "ipython"),  # no one's profile, startup files or config
    )
    return env


class FrontEndClient(NotebookClient):  # type: ignore[misc]
    """nbclient, but an output's display update counts whichever request it was sent under,
    as in a front end.

    nbclient keeps only the messages of the cell it is running. A message that ends between
    two cells (02's retry, 04's denied call: they end before the next ``/wait`` starts) sends
    its transcript then, under the previous cell's request, and nbclient would drop it: the
    page would show the placeholder or the transcript, depending on the machine's speed.
    JupyterLab applies an update by its display id, whenever it comes; so does this.
    """

    async def _async_poll_output_msg(
        self, parent_msg_id: str, cell: NotebookNode, cell_index: int
    ) -> None:
        assert self.kc is not None
        while True:  # nbclient's own loop (0.10, 0.11), and the ``elif``
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)  # as nbclient does
                except CellExecutionComplete:
                    return
            elif msg["header"]["msg_type"] == "update_display_data":
                display_id = msg["content"].get("transient", {}).get("display_id")
                if display_id:
                    self._update_display_id(display_id, msg)


def run_lesson(path: Path, where: Scratch) -> NotebookNode:
    """Execute a copy of the lesson in ``where``, as test_demo_notebooks.run_notebook does
    (but with the display updates of ``FrontEndClient``).

    The kernel's own stderr (ipykernel's start-up warnings) goes to a log, shown if the run
    fails."""
    nb = nbformat.read(path, as_version=4)
    deadline = time.monotonic() + BUDGET_SECONDS

    def remaining(_cell: NotebookNode) -> int:
        return max(1, int(deadline - time.monotonic()))  # 0 would mean "no timeout"

    log = where.root / "kernel.log"
    with log.open("w", encoding="utf-8") as stderr:
        try:
            client = FrontEndClient(
                nb,
                timeout_func=remaining,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(where.work)}},
            )
            client.execute(env=kernel_env(where), stderr=stderr)
        except Exception:
            print(log.read_text(encoding="utf-8", errors="replace")[-4000:], file=sys.stderr)
            raise
    return nb


def problems(nb: NotebookNode) -> list[str]:
    """Errors and stderr of cells not meant to show one (the lesson tests' rule)."""
    found = []
    for n, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or set(cell.metadata.get("tags", [])) & EXPECT_ERROR:
            continue
        for out in cell.outputs:
            if out.output_type == "error" or (out.output_type == "stream" and out.name == "stderr"):
                first = cell.source.partition("\n")[0]
                said = out.get("text") or f"{out.get('ename')}: {out.get('evalue')}"
                found.append(f"cell {n} ({first!r}): {said.strip()}")
    return found


# ── what differs between runs ──


def path_forms(path: Path) -> list[str]:
    """The ways ``path`` can appear in an output: as given, resolved, and JSON-escaped."""
    forms = {str(path), str(path.resolve())}
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return sorted(forms, key=len, reverse=True)


def normalizer(where: Scratch) -> Callable[[str], str]:
    """A function that puts placeholders in an output's text for what a run or a machine
    changes: the lesson's folder, the scratch folders, the interpreter, the checkout, then
    clock times, stamps, session ids and Python versions."""
    lessons = sorted(where.tmp.glob("collet-lesson-*"))
    paths: list[tuple[Path, str]] = [(p, "<lesson folder>") for p in lessons]
    paths += [
        (where.tmp, "<TMPDIR>"),
        (where.home, "<COLLET_HOME>"),
        (where.work, "<kernel cwd>"),
        (where.root, "<scratch>"),
        (Path(sys.executable), "python"),
        (ROOT, "<checkout>"),
    ]
    replacements = [(form, label) for path, label in paths for form in path_forms(path)]
    replacements.sort(key=lambda pair: len(pair[0]), reverse=True)  # the longest first

    def normalize(text: str) -> str:
        text = _ANSI.sub("", text)
        for form, label in replacements:
            text = text.replace(form, label)
        for pattern, placeholder in _VARYING:
            text = pattern.sub(placeholder, text)
        return text

    return normalize


# ── the page ──


def fence(text: str, language: str = "") -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    runs = [len(r) for r in re.findall(r"`+", text)]
    ticks = "`" * max(3, max(runs, default=0) + 1)
    return f"{ticks}{language}\n{text.rstrip()}\n{ticks}"


def quote(markdown: str) -> str:
    """``markdown`` as a blockquote (an output, set apart from the lesson's prose)."""
    return "\n".join(f"> {line}" if line.strip() else ">" for line in markdown.splitlines())


_PLACEHOLDER = re.compile(r"<(lesson folder|TMPDIR|COLLET_HOME|kernel cwd|scratch|checkout)>")


def escape_placeholders(markdown: str) -> str:
    """A placeholder like ``<checkout>`` in Markdown text (outside code) made visible: a
    renderer would take it for an HTML tag and drop it."""
    return outside_code(markdown, lambda part: _PLACEHOLDER.sub(r"&lt;\1&gt;", part))


def output_blocks(out: NotebookNode, normalize: Callable[[str], str]) -> Iterator[str]:
    """The Markdown of one output (nothing for an output with no text form)."""
    kind = out.output_type
    if kind == "stream":
        text = normalize(out.text)
        if text.strip():
            yield fence(text, "text") if out.name == "stdout" else f"stderr:\n\n{fence(text)}"
    elif kind == "error":
        yield f"error:\n\n{fence(normalize(f'{out.ename}: {out.evalue}'))}"
    elif kind in ("execute_result", "display_data"):
        data: dict[str, Any] = out.get("data", {})
        if MARKDOWN in data:
            yield escape_placeholders(normalize(str(data[MARKDOWN]))).strip()
        elif PLAIN in data:
            yield fence(normalize(str(data[PLAIN])), "text")


def cell_outputs(outputs: list[NotebookNode], normalize: Callable[[str], str]) -> list[str]:
    """The Markdown of a cell's outputs, consecutive streams of one name joined (as a front
    end shows them)."""
    merged: list[NotebookNode] = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and out.output_type == "stream"
            and last.output_type == "stream"
            and last.name == out.name
        ):
            merged[-1] = nbformat.from_dict({**last, "text": last.text + out.text})
        else:
            merged.append(out)
    return [block for out in merged for block in output_blocks(out, normalize)]


def page(path: Path, nb: NotebookNode, normalize: Callable[[str], str]) -> str:
    """The Markdown page of an executed lesson."""
    up = "../../"  # from docs/lessons/ to the checkout
    notebook, script = f"{up}{path.relative_to(ROOT).as_posix()}", f"{up}{SCRIPT}"
    blocks = [
        f"<!-- Generated by {COMMAND}: do not edit; edit the notebook and run it again. -->",
        f"*Generated by [`{SCRIPT}`]({script}) from a headless run of [`{path.name}`]"
        f"({notebook}) with the offline demo model (scratch paths and clock times are "
        "placeholders). Each cell's output is quoted under it; a message's output is its "
        "transcript as it stood at the end of the run.*",
    ]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            blocks.append(cell.source.strip())
        elif cell.cell_type == "code":
            blocks.append(fence(cell.source, "python"))
            blocks.extend(quote(b) for b in cell_outputs(cell.outputs, normalize))
        elif cell.source.strip():  # raw
            blocks.append(fence(cell.source))
    text = "\n\n".join(b for b in blocks if b) + "\n"
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


def make_page(path: Path) -> str:
    """Run the lesson headless and return its page (LessonError if the run shows errors)."""
    where = scratch()
    try:
        nb = run_lesson(path, where)
        found = problems(nb)
        if found:
            raise LessonError(f"{path.name} did not run cleanly:\n  " + "\n  ".join(found))
        return page(path, nb, normalizer(where))
    finally:
        shutil.rmtree(where.root, ignore_errors=True)


def page_path(lesson: Path) -> Path:
    return PAGES / f"{lesson.stem}.md"


# ── the command ──


def lessons(names: list[str]) -> list[Path]:
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return every
    chosen = [p for p in every if p.stem in names or p.name in names or p.stem[:2] in names]
    unknown = set(names) - {n for p in chosen for n in (p.stem, p.name, p.stem[:2])}
    if unknown:
        raise SystemExit(f"no such lesson: {', '.join(sorted(unknown))}")
    return chosen


def shown(path: Path) -> str:
    """``path`` as a report names it: relative to the checkout when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def reproduced(lesson: Path, current: str | None) -> str:
    """The lesson's page, as two sightings agree: the ``current`` one counts as one, then each
    fresh run (up to ``RUNS``). A run whose timing went unusual (a busy machine: 02 cancels a
    message before or after its first words) is outvoted instead of making a page that the
    next run contradicts; a lesson that never gives the same page twice is an error."""
    seen = [] if current is None else [current]
    for runs in range(1, RUNS + 1):
        fresh = make_page(lesson)
        if fresh in seen:
            outvoted = runs - (1 if fresh == current else 2)
            if outvoted:
                print(f"note: {lesson.stem}: {outvoted} run(s) outvoted", file=sys.stderr)
            return fresh
        seen.append(fresh)
    between = "\n  ".join(diff(seen[-2], seen[-1], "one run", "the next"))
    raise LessonError(f"{lesson.name} gives a different page each run:\n  {between}")


def check(chosen: list[Path], *, every: bool) -> list[str]:
    """The pages that differ from a fresh run of their lesson or are missing, and, when
    checking ``every`` lesson, the pages of no lesson; a page that differs is followed by the
    start of its diff (lines indented by four)."""
    stale = []
    for lesson in chosen:
        target = page_path(lesson)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        fresh = reproduced(lesson, current)
        if current != fresh:
            stale.append(shown(target))
            if current is not None:
                stale += [f"  {line}" for line in diff(current, fresh, shown(target))]
    if every:
        known = {page_path(p) for p in chosen}
        stale += [shown(p) for p in sorted(PAGES.glob("*.md")) if p not in known]
    return stale


def diff(before: str, after: str, name: str, other: str = "a fresh run") -> list[str]:
    """The start of the unified diff from ``before`` to ``after`` (``DIFF_LINES`` lines)."""
    said = list(
        difflib.unified_diff(before.splitlines(), after.splitlines(), name, other, n=1, lineterm="")
    )
    more = len(said) - DIFF_LINES
    return said[:DIFF_LINES] + ([f"… {more} more diff lines"] if more > 0 else [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    parser.add_argument("lesson", nargs="*", help="lessons to run (default: all), e.g. 02")
    args = parser.parse_args(argv)
    chosen = lessons(args.lesson)
    try:
        return run(chosen, check_only=args.check, every=not args.lesson)
    except LessonError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def run(chosen: list[Path], *, check_only: bool, every: bool) -> int:
    """Check or write the pages of the ``chosen`` lessons; the exit status."""
    started = time.monotonic()
    if check_only:
        stale = check(chosen, every=every)
        if stale:
            print("these lesson pages are not current:", *stale, sep="\n  ", file=sys.stderr)
            print(f"regenerate them with: {COMMAND}", file=sys.stderr)
            return 1
        print(f"{len(chosen)} lesson page(s) current ({time.monotonic() - started:.1f} s)")
        return 0
    PAGES.mkdir(parents=True, exist_ok=True)
    for lesson in chosen:
        target = page_path(lesson)
        current = target.read_text(encoding="utf-8") if target.is_file() else None
        text = reproduced(lesson, current)
        changed = text != current
        target.write_text(text, encoding="utf-8", newline="\n")
        print(f"{shown(target)}: {'written' if changed else 'unchanged'}")
    print(f"{len(chosen)} lesson page(s) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
