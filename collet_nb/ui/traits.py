"""``c.Collet.*`` configuration through traitlets (ipython_config.py / jupyter config)."""

from __future__ import annotations

from typing import Any

from traitlets import Float, Int, Unicode
from traitlets.config import Configurable


class Collet(Configurable):
    """collet_nb settings; each one mirrors a COLLET_* variable (the environment wins)."""

    provider = Unicode(None, allow_none=True, help="openai | anthropic | demo").tag(config=True)
    base_url = Unicode(None, allow_none=True, help="OpenAI-compatible base URL").tag(config=True)
    model = Unicode(None, allow_none=True, help="model name").tag(config=True)
    approval = Unicode(None, allow_none=True, help="yolo | auto | manual").tag(config=True)
    streaming = Unicode(None, allow_none=True, help="compact | full").tag(config=True)
    workspace = Unicode(None, allow_none=True, help="project | workspace | full").tag(config=True)
    max_iterations = Int(None, allow_none=True, help="model requests per message").tag(config=True)
    tool_timeout = Float(None, allow_none=True, help="seconds per tool call").tag(config=True)
    task_timeout = Float(None, allow_none=True, help="seconds per turn").tag(config=True)
    circuit_breaker = Int(None, allow_none=True, help="tool failures in a row").tag(config=True)
    session_timeout = Float(None, allow_none=True, help="idle seconds before eviction").tag(
        config=True
    )
    context_budget = Int(None, allow_none=True, help="context tokens").tag(config=True)
    home = Unicode(None, allow_none=True, help="COLLET_HOME").tag(config=True)


def traitlet_overrides(config: Any) -> dict[str, Any]:
    """The ``c.Collet.*`` values set in ``config`` (unset traits are left out)."""
    collet = Collet(config=config)
    return {
        name: getattr(collet, name)
        for name in collet.trait_names(config=True)
        if getattr(collet, name) is not None
    }
