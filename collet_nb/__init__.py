"""collet_nb: a relentless, zero-drop coding-agent loop for Jupyter notebooks.

``%load_ext collet_nb`` registers the magics. Importing this package loads none of IPython,
ipywidgets, httpx2 or mcp: they are imported where they are used.
"""

from __future__ import annotations

__version__ = "0.1.0"
