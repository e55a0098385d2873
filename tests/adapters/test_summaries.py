"""Value summaries: what they show of each kind of value, their caps, and that they never run
the user's code."""

import json
import re
import types

import numpy as np
import pytest

from collet_nb.adapters.summaries import (
    SummaryLimits,
    is_listed,
    summarize,
    summarize_variables,
    type_name,
)


class Touchy:
    """Records every attempt to run its code (repr, str, len, iteration, a property …)."""

    calls: list[str]

    def __init__(self, calls: list[str]) -> None:
        object.__setattr__(self, "calls", calls)

    def __repr__(self) -> str:
        self.calls.append("repr")
        return "Touchy()"

    def __str__(self) -> str:
        self.calls.append("str")
        return "Touchy"

    def __format__(self, spec: str) -> str:
        self.calls.append("format")
        return "Touchy"

    def __len__(self) -> int:
        self.calls.append("len")
        return 3

    def __iter__(self):
        self.calls.append("iter")
        return iter(())

    def __eq__(self, other: object) -> bool:
        self.calls.append("eq")
        return False

    def __hash__(self) -> int:
        self.calls.append("hash")
        return 1

    def __getattr__(self, name: str):
        self.calls.append(f"getattr {name}")
        raise AttributeError(name)

    @property
    def shape(self):
        self.calls.append("shape")
        return (1,)

    @property
    def __class__(self):
        self.calls.append("__class__")
        return dict


class Meta(type):
    """A metaclass whose hooks record being run."""

    log: list[str] = []  # noqa: RUF012 - shared on purpose: classes of this metaclass log here

    def __eq__(cls, other: object) -> bool:
        Meta.log.append("eq")
        return False

    def __hash__(cls) -> int:
        Meta.log.append("hash")
        return 1

    def __repr__(cls) -> str:
        Meta.log.append("repr")
        return "Meta"


class ListLike(list):
    """A list subclass: not a builtin, so it is not measured either."""

    def __len__(self) -> int:
        raise AssertionError("len of a subclass ran")


def test_builtin_scalars_show_their_value():
    assert summarize(5) == "int = 5"
    assert summarize(True) == "bool = True"
    assert summarize(2.5) == "float = 2.5"
    assert summarize(None) == "NoneType = None"
    assert summarize(range(3)) == "range = range(0, 3)"


def test_a_huge_integer_shows_its_size_not_its_digits():
    assert summarize(10**5000) == "int = <16610-bit integer>"


def test_strings_show_length_and_a_capped_head():
    assert summarize("hello") == "str len=5 'hello'"
    long = summarize("x" * 100_000)
    assert long.startswith("str len=100000 'xxx")
    assert long.endswith("…")
    assert len(long) <= SummaryLimits().value_chars
    assert summarize(b"ab") == "bytes len=2 b'ab'"


def test_containers_show_length_and_their_first_items_briefly():
    assert summarize([1, "a", [2, 3], {"k": 1}]) == "list len=4 [1, 'a', [2, 3], {'k': 1}]"
    assert summarize(list(range(100))) == "list len=100 [0, 1, 2, 3, 4, …]"
    assert summarize((1,)) == "tuple len=1 (1,)"
    assert summarize({3}) == "set len=1 {3}"
    assert summarize({"a": 1, "b": [1, 2]}) == "dict len=2 {'a': 1, 'b': [1, 2]}"
    assert summarize([[[1]]]) == "list len=1 [[<list len=1>]]"


def test_functions_classes_and_modules_are_named_not_called():
    def fit(x, y=1, *rest, scale, **options):
        raise AssertionError("called")

    assert summarize(fit) == "function(x, y, *rest, scale, **options)"
    assert summarize(Touchy) == "class tests.adapters.test_summaries.Touchy"
    assert summarize(json) == "module json"


def test_numpy_arrays_show_shape_dtype_and_first_values():
    array = np.arange(12.0).reshape(3, 4)
    assert summarize(array) == (
        "numpy.ndarray shape=(3, 4) dtype=float64 [0.0, 1.0, 2.0, 3.0, 4.0, …]"
    )
    assert summarize(np.array(["a", "b"])) == "numpy.ndarray shape=(2,) dtype=<U1 ['a', 'b']"
    assert summarize(np.float64(2.5)) == "numpy.float64 = 2.5"
    assert summarize(np.zeros(0)) == "numpy.ndarray shape=(0,) dtype=float64"


def test_a_huge_strided_array_is_summarized_without_copying_it():
    # .ravel() of a strided view would copy all 50 million elements (400 MB).
    view = np.broadcast_to(np.float64(1.0), (10_000, 10_000))[::2]
    assert summarize(view).startswith("numpy.ndarray shape=(5000, 10000) dtype=float64 [1.0")


def test_nothing_of_a_user_object_runs_wherever_it_sits():
    calls: list[str] = []
    touchy = Touchy(calls)
    values = [touchy, [touchy], {"k": touchy}, {touchy: 1}, np.array([touchy], dtype=object)]
    calls.clear()  # building them hashed it and let NumPy probe it
    summaries = [summarize(value) for value in values]
    summaries.append(summarize_variables({"t": touchy}, ["t"]))
    assert calls == []
    assert summaries[0] == "tests.adapters.test_summaries.Touchy object"
    assert summaries[1] == "list len=1 [<tests.adapters.test_summaries.Touchy>]"
    assert summaries[4] == "numpy.ndarray shape=(1,) dtype=object"
    assert summaries[5] == "t: tests.adapters.test_summaries.Touchy object"


def test_a_metaclass_cannot_intercept_the_type_checks():
    Meta.log.clear()
    odd = Meta("Odd", (), {"__module__": "mine"})
    assert summarize(odd()) == "mine.Odd object"
    assert summarize(odd) == "class mine.Odd"
    assert Meta.log == []


def test_subclasses_of_builtins_are_not_measured():
    assert summarize(ListLike([1, 2])) == "tests.adapters.test_summaries.ListLike object"


def test_type_name_reads_module_and_qualname():
    assert type_name(int) == "int"
    assert type_name(types.SimpleNamespace) == "types.SimpleNamespace"
    assert type_name(Touchy) == "tests.adapters.test_summaries.Touchy"


def test_private_names_modules_and_collets_own_objects_are_not_listed():
    assert is_listed("df", 1)
    assert not is_listed("_hidden", 1)
    assert not is_listed("np", np)
    assert not is_listed("limits", SummaryLimits())


def test_a_listing_names_each_variable_and_says_which_are_missing():
    text = summarize_variables({"a": 1, "b": "x"}, ["a", "b", "ghost"])
    assert text.splitlines() == ["a: int = 1", "b: str len=1 'x'", "ghost: not defined"]


def test_a_listing_stays_under_its_total_cap_and_names_what_it_cut():
    namespace = {f"v{i}": "y" * 500 for i in range(100)}
    limits = SummaryLimits(total_chars=2000)
    text = summarize_variables(namespace, namespace, limits)
    assert len(text) <= 2000
    last = text.splitlines()[-1]
    count = int(re.search(r"\[(\d+) more not shown", last).group(1))
    shown = len(text.splitlines()) - 1
    assert shown + count == 100
    assert f"v{shown}" in last  # the first one cut is named


def test_limits_below_one_are_refused():
    with pytest.raises(ValueError, match="items"):
        SummaryLimits(items=0)


@pytest.fixture
def pd():
    return pytest.importorskip("pandas")


def test_a_dataframe_shows_shape_dtypes_and_its_first_rows(pd):
    frame = pd.DataFrame({"a": range(1000), "b": [1.5] * 1000})
    text = summarize(frame)
    lines = text.splitlines()
    assert lines[0] == "pandas.DataFrame shape=(1000, 2) columns: a:int64, b:float64"
    assert lines[1].split() == ["a", "b"]
    assert len(lines) == 2 + SummaryLimits().rows
    assert len(text) <= SummaryLimits().table_chars


def test_a_wide_dataframe_lists_some_columns_and_stays_under_its_cap(pd):
    frame = pd.DataFrame(np.ones((10, 300)), columns=[f"column_{i}" for i in range(300)])
    text = summarize(frame)
    lines = text.splitlines()
    assert lines[0].startswith("pandas.DataFrame shape=(10, 300) columns: column_0:float64")
    assert len(lines) == 2 + SummaryLimits().rows  # every row shown, each line cut
    assert all(len(line) <= 96 for line in lines[1:])
    assert len(text) <= SummaryLimits().table_chars


def test_user_objects_in_cells_labels_and_names_of_pandas_values_stay_untouched(pd):
    calls: list[str] = []
    touchy = Touchy(calls)
    frame = pd.DataFrame({"o": [touchy, None], "n": [1, 2]}, index=[touchy, "r"])
    series = pd.Series([touchy, 2], name=touchy)
    calls.clear()  # building them let pandas probe it
    frame_text = summarize(frame)
    series_text = summarize(series)
    assert calls == []
    assert frame_text.count("<Touchy>") == 2  # a cell and an index label
    assert "o:object, n:int64" in frame_text
    assert series_text.startswith("pandas.Series len=2 dtype=object name=<Touchy>")


def test_a_series_shows_length_dtype_name_and_first_values(pd):
    text = summarize(pd.Series([10, 20, 30], name="price"))
    assert text.splitlines()[0] == "pandas.Series len=3 dtype=int64 name=price"
    assert text.splitlines()[-1].split() == ["2", "30"]


def test_other_pandas_objects_are_named_only(pd):
    assert summarize(pd.Index([1, 2])).endswith(" object")
