"""Every lesson under Run All: all its code cells queued at once (as a front end sends them),
on both ipykernels. Each cell replies ok, in order, no traceback anywhere, and the lesson
says what it claims (nbclient, in test_demo_notebooks, sends one cell at a time)."""

import pytest
from nbformat import read

from tests.kernel.test_demo_notebooks import (
    CLAIMS,
    EXPECT_ERROR,
    NOTEBOOKS,
    TEST_PACE,
    missing_in_order,
)
from tests.kernel.test_run_all import tracebacks
from tests.support.kernel import IPYKERNELS, ROOT, KernelHarness

pytestmark = pytest.mark.kernel


def shown(outputs: list[dict]) -> str:
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
def test_a_lesson_run_all_at_once_replies_ok_in_order_and_makes_its_claims(
    path, ipykernel, tmp_path
):
    nb = read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code"]
    env = {
        "COLLET_HOME": str(tmp_path / "home"),
        "COLLET_PROVIDER": "demo",
        "COLLET_DEMO_PACE": TEST_PACE,
        "TMPDIR": str(tmp_path),
    }
    # Started in the lessons' folder, as Jupyter starts a notebook's kernel.
    kernel = KernelHarness(cwd=ROOT / "notebooks", env=env, ipykernel=ipykernel)
    try:
        results = kernel.execute_all([c.source for c in cells], timeout=90)
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
