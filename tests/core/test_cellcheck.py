"""check_cell: which existing names a proposed cell would overwrite, delete or change."""

import pytest

from collet_nb.core.cellcheck import CellCheck, check_cell

EXISTING = {"a", "b", "c", "df", "np", "model", "f", "Point", "e", "items"}


@pytest.mark.parametrize(
    ("code", "overwritten"),
    [
        ("a = 1", ("a",)),
        ("a = b = 2", ("a", "b")),
        ("a, (b, *c) = 1, (2, 3)", ("a", "b", "c")),
        ("[a, b] = [1, 2]", ("a", "b")),
        ("a += 1", ("a",)),
        ("a: int = 3", ("a",)),
        ("import numpy as np", ("np",)),
        ("import a.b.c", ("a",)),
        ("import os.path as b", ("b",)),
        ("from x import y as model, c", ("model", "c")),
        ("def f(): pass", ("f",)),
        ("async def f(): pass", ("f",)),
        ("class Point: pass", ("Point",)),
        ("for a in range(3): pass", ("a",)),
        ("with open('x') as b: pass", ("b",)),
        ("with open('x') as (a, b): pass", ("a", "b")),
        ("if (a := 5) > 3: pass", ("a",)),
        ("[b := i for i in range(3)]", ("b",)),
        ("if True:\n    a = 1\nelse:\n    b = 2", ("a", "b")),
        ("try:\n    a = 1\nfinally:\n    b = 2", ("a", "b")),
        ("def g():\n    global a\n    a = 1", ("a",)),
        ("def g():\n    global a, b\n    import os as a\n    def b(): pass", ("a", "b")),
        ("class K:\n    global c\n    c = 1", ("c",)),
        ("def g():\n    def h():\n        global a\n        a += 1", ("a",)),
        ("match 1:\n    case [a, *b]: pass", ("a", "b")),
        ("match {}:\n    case {'k': a, **c}: pass", ("a", "c")),
        ("match 1:\n    case Point(x=b) as a: pass", ("b", "a")),
        ("x = !ls", None),  # not Python: a syntax error, never a guess
    ],
)
def test_bindings_of_existing_names_are_reported_as_overwrites(code, overwritten):
    check = check_cell(code, EXISTING)
    if overwritten is None:
        assert check.syntax_error is not None
    else:
        assert check.syntax_error is None
        assert check.overwritten == overwritten


@pytest.mark.parametrize(
    "code",
    [
        "x = 1",
        "print(a, b)",
        "a.append(1) if False else None",
        "[a for a in range(3)]",  # comprehension variables stay inside
        "{c: b for c, b in {}.items()}",
        "lambda a: (b := a)",  # the walrus binds inside the lambda
        "def g(a):\n    b = a\n    return b",  # locals of a function
        "def g():\n    global x\n    a = 1",  # only global names reach the module
        "class K:\n    a = 1\n    def b(self): pass",
        "a: int",  # an annotation alone binds nothing
    ],
)
def test_reading_names_and_binding_locals_overwrite_nothing(code):
    check = check_cell(code, EXISTING)
    assert check.syntax_error is None
    assert check.overwritten == ()
    assert check.deleted == ()


def test_del_of_existing_names_is_a_deletion_and_missing_names_are_ignored():
    check = check_cell("del a, b\ndel zzz", EXISTING)
    assert check.deleted == ("a", "b")
    assert check.deletes == ("a", "b", "zzz")
    assert check.overwritten == ()


def test_the_last_effect_on_a_name_decides_between_overwrite_and_delete():
    check = check_cell("del a\na = 2\nb = 1\ndel b", EXISTING)
    assert check.overwritten == ("a",)
    assert check.deleted == ("b",)


def test_an_except_as_name_is_deleted_when_its_block_ends():
    check = check_cell("try:\n    pass\nexcept Exception as e:\n    x = e", EXISTING)
    assert check.deleted == ("e",)
    assert "x" in check.binds


def test_a_global_del_inside_a_function_is_a_deletion():
    assert check_cell("def g():\n    global c\n    del c", EXISTING).deleted == ("c",)


def test_item_and_attribute_assignment_modifies_in_place():
    check = check_cell("df['x'] = 1\nmodel.lr = 0.1\ndel items[0]\nnp.x += 1\nq.y = 2", EXISTING)
    assert check.modified == ("df", "model", "items", "np")
    assert check.overwritten == ()


def test_a_name_both_rebound_and_changed_in_place_counts_once_as_overwritten():
    check = check_cell("df['x'] = 1\ndf = 2", EXISTING)
    assert check.overwritten == ("df",)
    assert check.modified == ()


def test_in_place_changes_inside_functions_are_not_guessed():
    assert check_cell("def g():\n    df['x'] = 1", EXISTING).modified == ()


def test_a_star_import_warns_that_any_name_may_change():
    check = check_cell("from os.path import *\nfrom . import *", EXISTING)
    assert check.star_imports == ("os.path", ".")
    assert "`from os.path import *` may overwrite any name" in check.warnings()


def test_new_names_are_the_bindings_that_did_not_exist():
    check = check_cell("a = 1\nnew = 2\nimport json", EXISTING)
    assert check.new_names == ("new", "json")
    assert check.binds == ("a", "new", "json")


def test_warnings_name_each_kind_of_effect_once():
    check = check_cell("a = 1\nb += 2\ndel c\ndf['k'] = 0", EXISTING)
    assert check.warnings() == (
        "would overwrite: a, b",
        "would delete: c",
        "would modify in place: df",
    )


def test_a_harmless_cell_has_no_warnings():
    assert check_cell("print(a)\nresult = a + 1", EXISTING).warnings() == ()


def test_a_syntax_error_says_where_and_nothing_else():
    check = check_cell("x = 1\ndef broken(:\n    pass", EXISTING)
    assert check.syntax_error is not None
    assert "line 2" in check.syntax_error
    assert check.warnings() == (f"syntax error: {check.syntax_error}",)
    assert check.binds == ()


def test_a_nul_byte_is_a_syntax_error_not_a_crash():
    assert check_cell("a = 1\0", EXISTING).syntax_error


def test_code_nested_too_deeply_is_reported_not_raised():
    check = check_cell("x = " + "(" * 5000 + ")" * 5000, EXISTING)
    assert check.syntax_error is not None


def test_an_empty_cell_does_nothing():
    assert check_cell("", EXISTING) == CellCheck()
