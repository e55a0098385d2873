"""Top-level ``%collet`` lines become awaited calls; nothing else changes."""

import asyncio

import pytest

from collet_nb.ui.autoawait import ENTRY, AwaitTransformer, rewrite

LINE = "get_ipython().run_line_magic('collet', '/wait 30')"
CELL = "get_ipython().run_cell_magic('collet', '--wait', 'count to three\\n')"


def awaited(call: str, indent: str = "") -> str:
    return f"{indent}await {ENTRY}(lambda: {call})\n"


def test_a_top_level_collet_line_is_awaited_with_its_magic_call_kept():
    assert rewrite(f"x = 1\n{LINE}\nprint(x)\n") == f"x = 1\n{awaited(LINE)}print(x)\n"


def test_a_collet_cell_is_awaited():
    assert rewrite(CELL + "\n") == awaited(CELL)


def test_lines_in_top_level_blocks_are_awaited_too():
    source = f"for q in qs:\n    {LINE}\nif ok:\n    pass\nelse:\n    {LINE}\n"
    expected = (
        f"for q in qs:\n{awaited(LINE, '    ')}if ok:\n    pass\nelse:\n{awaited(LINE, '    ')}"
    )
    assert rewrite(source) == expected


@pytest.mark.parametrize(
    "source",
    [
        f"def f():\n    {LINE}\n",  # a function cannot await
        f"async def f():\n    {LINE}\n",  # its own business
        f"class A:\n    {LINE}\n",
        f"x = {LINE}\n",  # an assignment keeps its value
        "get_ipython().run_line_magic('time', 'x = 1')\n",  # not ours
        f's = """\n{LINE}\n"""\n',  # text in a string
        f"{LINE}  # a comment\nif (:\n",  # does not parse: IPython will say so
        f"print(1); {LINE}\n",  # shares its line
    ],
)
def test_anything_else_is_left_alone(source):
    assert rewrite(source) == source


def test_a_cell_without_the_word_is_not_even_parsed():
    source = "if (:\n"  # would not parse
    assert rewrite(source) is source


# ── in a real shell ──


def transformed(shell, code: str) -> str:
    """``shell.transform_cell(code)`` while a loop runs, as in a kernel."""

    async def inside() -> str:
        return shell.transform_cell(code)

    return asyncio.run(inside())


@pytest.fixture
def transformer(shell):
    t = AwaitTransformer(shell)
    t.install()
    yield t
    t.uninstall()


def test_the_shell_awaits_a_collet_wait_line_while_its_loop_runs(shell, transformer):
    assert "await __import__" in transformed(shell, "%collet /wait 30\n")
    assert "await" not in shell.transform_cell("%collet /wait 30\n")  # no running loop


def test_nothing_is_awaited_with_autoawait_off(shell, transformer):
    shell.autoawait = False
    assert "await" not in transformed(shell, "%collet /wait 30\n")


def test_nothing_is_awaited_inside_a_cell_that_runs_already(shell, transformer):
    # %%capture and %%time transform their body while their own cell runs: an await there
    # would need a second loop.
    shell.events.trigger("pre_execute")
    assert "await" not in transformed(shell, "%collet /wait 30\n")
    shell.events.trigger("post_execute")
    assert "await" in transformed(shell, "%collet /wait 30\n")


def test_uninstall_removes_it(shell, transformer):
    transformer.uninstall()
    assert "await" not in transformed(shell, "%collet /wait 30\n")
    assert transformer not in shell.input_transformers_post
