"""Mentions: which @… count, and what each known one attaches to the message."""

import pytest

from collet_nb.adapters.tools.scope import Workspace
from collet_nb.core.kinds import WorkspaceScope
from collet_nb.ui.mentions import SEPARATOR, MentionLimits, expand_mentions, find_mentions
from collet_nb.ui.notebook_tools import NotebookTools


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src" / "model.py").write_text("import math\n\nRATE = 0.5\n")
    (tmp_path / "secret.txt").write_text("outside\n")
    return root


@pytest.fixture
def expand(shell, project):
    notebook = NotebookTools(shell)

    def expand(text: str, scope=WorkspaceScope.PROJECT, limits=None) -> str:
        workspace = Workspace(project_dir=project, scope=scope)
        return expand_mentions(text, notebook=notebook, workspace=workspace, limits=limits)

    return expand


def tokens(text: str) -> list[str]:
    return [m.token for m in find_mentions(text)]


def test_mentions_are_variables_paths_and_cells_at_the_start_of_a_word():
    assert tokens("plot @df against @src/model.py and @cell:3.") == ["df", "src/model.py", "cell:3"]
    assert tokens("@start, (@paren) and @x, @y; @z!") == ["start", "paren", "x", "y", "z"]


def test_email_addresses_doubled_ats_and_code_are_not_mentions():
    text = "mail ada@example.com, @@twice, `@inline` and\n```python\n@decorator\ndef f(): ...\n```"
    assert tokens(text) == []


def test_a_resource_mention_is_left_to_the_mcp_manager_even_where_a_variable_has_its_name(
    shell, expand
):
    # Mutation: find_mentions not skipping @server:uri -> @docs attaches the variable docs.
    shell.run_cell("docs = 'a variable'", store_history=True)
    assert tokens("read @docs:file:///notes/a.md and @docs") == ["docs"]
    text = expand("read @docs:file:///notes/a.md")
    assert text == "read @docs:file:///notes/a.md"


def test_a_mention_repeated_counts_once():
    assert tokens("@df vs @df") == ["df"]


def test_mention_positions_cover_the_at_and_the_token():
    (mention,) = find_mentions("see @df.")
    assert "see @df."[mention.start : mention.end] == "@df"


def test_a_variable_mention_attaches_its_summary_after_the_text(shell, expand):
    shell.run_cell("df = [1, 2, 3]", store_history=True)
    text = expand("why is @df short?")
    typed, attached = text.split(SEPARATOR)
    assert typed == "why is @df short?"
    assert attached.strip() == "@df (variable): list len=3 [1, 2, 3]"


def test_a_file_mention_attaches_its_numbered_lines(expand):
    text = expand("explain @src/model.py")
    attached = text.split(SEPARATOR)[1]
    assert "@src/model.py (file src/model.py):" in attached
    assert "     3\tRATE = 0.5" in attached


def test_a_cell_mention_attaches_the_cell(shell, expand):
    shell.run_cell("print('hi')", store_history=True)
    attached = expand("what did @cell:1 print?").split(SEPARATOR)[1]
    assert "@cell:1 (cell):\nIn [1]:\nprint('hi')\nstdout [1]:\nhi" in attached


def test_unknown_mentions_stay_plain_text(expand):
    text = "ping @nobody about @missing.py and @cell:9"
    assert expand(text) == text


def test_a_file_outside_the_scope_is_not_attached_but_the_reason_is(expand):
    text = expand("read @../secret.txt")
    assert "outside" not in text.split(SEPARATOR)[0]
    assert "@../secret.txt: not attached (outside the project scope)" in text
    assert "outside\n" not in text.split(SEPARATOR)[1]  # not the file's content


def test_a_wider_scope_lets_the_file_in(expand):
    text = expand("read @../secret.txt", scope=WorkspaceScope.WORKSPACE)
    assert "     1\toutside" in text


def test_a_binary_file_is_named_with_the_reason_it_is_not_attached(project, expand):
    (project / "blob.bin").write_bytes(b"\0\1\2")
    assert "@blob.bin (file blob.bin): not attached: blob.bin looks binary" in expand("@blob.bin")


def test_a_variable_wins_over_a_file_of_the_same_name(shell, project, expand):
    (project / "data").write_text("file\n")
    shell.run_cell("data = 7", store_history=True)
    assert "@data (variable): int = 7" in expand("@data")


def test_attachments_stay_within_their_caps(shell, project, expand):
    (project / "big.txt").write_text("".join(f"line {i}\n" for i in range(5000)))
    limits = MentionLimits(file_lines=100, file_chars=600, total_chars=700)
    shell.run_cell("a = 1", store_history=True)
    text = expand("@a @big.txt @src/model.py", limits=limits)
    attached = text.split(SEPARATOR)[1]
    assert "@a (variable): int = 1" in attached
    assert "     1\tline 0" in attached
    assert "[… cut at 600 characters; read on with file_read]" in attached
    assert "@src/model.py: not attached (the attachments reached 700 characters)" in attached
    assert "RATE" not in attached
    assert len(attached) < 700 + 100
