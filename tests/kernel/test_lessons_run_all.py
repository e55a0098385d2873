"""Every lesson under Run All: all its code cells queued at once (as a front end sends them),
on both ipykernels. Each cell replies ok, in order, no traceback anywhere, the lesson says what
it claims, and nothing lands beside it (nbclient, in test_demo_notebooks, sends one cell at a
time)."""

from pathlib import Path
from typing import Any

import pytest
from nbformat import read

from tests.kernel.test_demo_notebooks import (
    CLAIMS,
    EXPECT_ERROR,
    NOTEBOOKS,
    TEST_PACE,
    copy_lessons,
    listing,
    missing_in_order,
)
from tests.kernel.test_run_all import tracebacks
from tests.support.kernel import IPYKERNELS, KernelHarness

pytestmark = pytest.mark.kernel

# Run All of a lesson, kernel start included (05 takes ≈6 s at the test pace).
TIMEOUT = 90.0


def shown(outputs: list[dict[str, Any]]) -> str:
    """What a person reads in a cell: streams and plain-text results (as the claims do)."""
    parts = []
    for out in outputs:
        if "name" in out and "text" in out:
            parts.append(out["text"])
        elif "execution_count" in out and "data" in out:
            parts.append(out["data"].get("text/plain", "") + "\n")
    return "".join(parts)


@pytest.mark.parametrize("ipykernel", IPYKERNELS)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_a_lesson_run_all_at_once_replies_ok_in_order_makes_its_claims_and_writes_nothing_beside_it(
    path: Path, ipykernel: str, tmp_path: Path
) -> None:
    cells = [c for c in read(path, as_version=4).cells if c.cell_type == "code"]
    env = {
        "COLLET_HOME": str(tmp_path / "home"),
        "COLLET_PROVIDER": "demo",
        "COLLET_DEMO_PACE": TEST_PACE,
        "TMPDIR": str(tmp_path),  # where the lesson makes its folder for this run
    }
    # Started in (a copy of) the lessons' folder, as Jupyter starts a notebook's kernel.
    folder = copy_lessons(tmp_path / "lessons")
    before = listing(folder)
    kernel = KernelHarness(cwd=folder, env=env, ipykernel=ipykernel)
    try:
        results = kernel.execute_all([c.source for c in cells], timeout=TIMEOUT)
    finally:
        kernel.shutdown()
    replies = [reply for reply, _ in results]
    texts = [shown(outputs) for _, outputs in results]
    assert [r["status"] for r in replies] == ["ok"] * len(cells), texts
    counts = [r["execution_count"] for r in replies]
    assert counts == sorted(counts)
    assert len(set(counts)) == len(counts)
    assert tracebacks(kernel) == []
    for cell, (_, outputs) in zip(cells, results, strict=True):
        stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
        if EXPECT_ERROR in cell.metadata.get("tags", []):
            assert stderr.startswith("collet: "), cell.source
        else:
            assert stderr == "", (cell.source, stderr)
    assert missing_in_order("".join(texts), CLAIMS.get(path.stem, [])) == []
    assert listing(folder) == before
