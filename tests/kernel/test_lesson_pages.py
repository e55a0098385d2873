"""docs/lessons/ holds the current static page of every lesson (scripts/lesson_pages.py).

Each lesson runs once headless (≈15 s for the six); the fresh pages are compared with the
committed ones through the script's own ``--check``, which names the stale pages (a lesson whose
run differed runs again, to outvote a run a busy machine made unusual).
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.kernel

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("lesson_pages", ROOT / "scripts/lesson_pages.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lesson_pages = _load_script()


@pytest.fixture(scope="module")
def fresh_pages():
    """Every lesson's page from one headless run, by lesson."""
    return {lesson: lesson_pages.make_page(lesson) for lesson in lesson_pages.lessons([])}


@pytest.fixture
def checking(fresh_pages, monkeypatch, capsys):
    """``--check`` against ``pages``: each lesson's first run is its run in ``fresh_pages``; a
    further one (to outvote a run that differed, as the script does) is real when ``rerun``."""
    real = lesson_pages.make_page

    def run(pages: Path, *, rerun: bool) -> tuple[int, str]:
        runs: set[Path] = set()

        def make_page(lesson: Path) -> str:
            if lesson in runs and rerun:
                return real(lesson)
            runs.add(lesson)
            return fresh_pages[lesson]

        monkeypatch.setattr(lesson_pages, "make_page", make_page)
        monkeypatch.setattr(lesson_pages, "PAGES", pages)
        code = lesson_pages.main(["--check"])
        return code, capsys.readouterr().err

    return run


def test_the_committed_lesson_pages_are_current(checking):
    code, said = checking(lesson_pages.PAGES, rerun=True)
    assert code == 0, said


def test_check_names_each_stale_missing_or_orphan_page_and_the_command(
    checking, fresh_pages, tmp_path
):
    for lesson, text in fresh_pages.items():
        (tmp_path / f"{lesson.stem}.md").write_text(text, encoding="utf-8")
    (tmp_path / "01_quickstart.md").write_text("# an old page\n", encoding="utf-8")
    (tmp_path / "02_queue.md").unlink()
    (tmp_path / "07_gone.md").write_text("# a lesson that was removed\n", encoding="utf-8")
    code, said = checking(tmp_path, rerun=False)
    assert code == 1
    named = re.findall(r"^  (\S.*)$", said, re.MULTILINE)  # a stale page's diff is indented more
    assert named == [str(tmp_path / n) for n in ("01_quickstart.md", "02_queue.md", "07_gone.md")]
    assert "    -# an old page" in said  # the start of its diff
    assert lesson_pages.COMMAND in said


def test_every_page_says_how_it_was_made_and_links_its_notebook(fresh_pages):
    for lesson, text in fresh_pages.items():
        header = text.splitlines()[2]
        assert "scripts/lesson_pages.py" in header
        assert f"(../../notebooks/{lesson.name})" in header
        assert "offline demo model" in header


def test_what_differs_between_runs_becomes_a_placeholder(tmp_path):
    where = lesson_pages.Scratch(
        root=tmp_path, work=tmp_path / "work", home=tmp_path / "home", tmp=tmp_path / "t"
    )
    lesson = where.tmp / "collet-lesson-03-ab12cd34"
    lesson.mkdir(parents=True)
    normalize = lesson_pages.normalizer(where)
    said = (
        f"plan saved to {lesson}/docs/plan/plan_20261204_044550.md\n"
        f"**bash** allowed once by command at 04:45, saved on 2026-12-04 04:35\n"
        f"session 0123456789abcdef0123456789abcdef in {where.home}/sessions\n"
        f'"command": "{sys.executable}", "args": ["{ROOT}/notebooks/demo_mcp_server.py"]\n'
    )
    assert normalize(said) == (
        "plan saved to <lesson folder>/docs/plan/plan_YYYYMMDD_HHMMSS.md\n"
        "**bash** allowed once by command at HH:MM, saved on YYYY-MM-DD HH:MM\n"
        "session SESSION_ID in <COLLET_HOME>/sessions\n"
        '"command": "python", "args": ["<checkout>/notebooks/demo_mcp_server.py"]\n'
    )


def test_a_placeholder_in_markdown_text_stays_visible_and_code_is_left_as_is():
    markdown = "saved in <lesson folder>, see `<lesson folder>`\n\n```\n<checkout>/x\n```\n"
    assert lesson_pages.escape_placeholders(markdown) == (
        "saved in &lt;lesson folder&gt;, see `<lesson folder>`\n\n```\n<checkout>/x\n```\n"
    )
