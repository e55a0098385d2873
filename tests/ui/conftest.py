"""A real IPython shell for the notebook tools and mentions tests (no kernel, no history file)."""

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture
def shell(tmp_path, monkeypatch):
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.reset()  # IPython keeps outputs in a class-level dict: start from none
    yield shell
    InteractiveShell.clear_instance()
