"""The layer rules: a light package import, a pure core, one direction of dependency."""

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "collet_nb"
HEAVY = ("IPython", "ipywidgets", "ipykernel", "httpx2", "httpx", "mcp", "bm25s", "anywidget")


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name.split(".")[0] for name in out.split()}


def test_importing_the_package_or_its_core_loads_no_heavy_module():
    for statement in ("import collet_nb", "import collet_nb.core.session, collet_nb.core.pool"):
        heavy = loaded_after(statement) & set(HEAVY)
        assert heavy == set(), f"{statement} loaded {heavy}"


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_core_does_no_io_and_depends_on_nothing_but_itself_and_errors():
    banned = {"os", "socket", "subprocess", "time", "asyncio", "pathlib", "io", "random", "uuid"}
    for path in (PACKAGE / "core").rglob("*.py"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert top not in banned, f"{path.name} imports {name}"
            assert top not in HEAVY, f"{path.name} imports {name}"
            if top == "collet_nb":
                assert name.startswith(("collet_nb.core", "collet_nb.errors")), (path, name)


def test_the_runtime_never_imports_the_ui():
    for path in (PACKAGE / "runtime").rglob("*.py"):
        assert not any(n.startswith("collet_nb.ui") for n in imports_of(path)), path
