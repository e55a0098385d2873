"""The SDK is imported once, off the loop; a transient failure of that import is tried again
once, a missing package is reported with what to install."""

import asyncio
import importlib
import sys

import pytest

from collet_nb.adapters.mcp import server as server_module
from collet_nb.errors import McpServerError


def failing_first(monkeypatch, error: Exception) -> list[str]:
    """Make the first import of the SDK raise ``error`` (an import is an OS edge)."""
    seen: list[str] = []
    real = importlib.import_module

    def import_module(name: str):
        seen.append(name)
        if len(seen) == 1:
            raise error
        return real(name)

    monkeypatch.setattr(server_module.importlib, "import_module", import_module)
    # Small stand-in modules; one absent from sys.modules, so load_sdk does import.
    monkeypatch.setattr(server_module, "_SDK_MODULES", ("json", "csv"))
    monkeypatch.delitem(sys.modules, "csv", raising=False)
    return seen


def test_a_transient_failure_of_the_first_import_is_tried_again_once(monkeypatch, caplog):
    seen = failing_first(monkeypatch, RuntimeError("grammar build failed"))
    asyncio.run(server_module.load_sdk("demo"))
    assert seen == ["json", "json", "csv"]
    assert "trying again" in caplog.text


def test_a_missing_package_says_what_to_install(monkeypatch):
    failing_first(monkeypatch, ModuleNotFoundError("No module named 'mcp'", name="mcp"))
    with pytest.raises(McpServerError) as info:
        asyncio.run(server_module.load_sdk("demo"))
    assert "pip install 'collet_nb[mcp]'" in str(info.value)
