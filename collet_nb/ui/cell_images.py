"""The images each cell showed, by execution count: what ``@cell:N`` sends to a model that takes
images.

IPython 9 keeps a cell's outputs in its history, but ipykernel's display publisher replaces
IPython's and records nothing there, so in a kernel the outputs are seen here instead: the
display messages through the publisher's transform hook (ipykernel's documented extension
point; the message goes on unchanged). A cell's result (a figure left as its last expression is
an ``execute_result``, not a display message) is kept by IPython as ``Out[N]`` anyway: it is
formatted only when a mention asks for it, so cells pay nothing for it.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from collet_nb.core.images import MAX_IMAGES, Image, image_of

# An output's images, best first: a bundle with several holds one picture in several forms.
IMAGE_OUTPUTS = ("image/png", "image/jpeg", "image/webp", "image/gif")


def bundle_image(bundle: Mapping[str, Any], *, source: str) -> Image | None:
    """The picture of one output's MIME bundle (its best raster form), if it has one."""
    mime = next((m for m in IMAGE_OUTPUTS if m in bundle), None)
    return None if mime is None else image_of(mime, bundle[mime], source=source)


class CellImages:
    """Records the images of the last ``keep`` cells that showed any.

    Args:
        shell: the ``InteractiveShell``.
        keep: cells remembered (older ones are forgotten first).
    """

    def __init__(self, shell: Any, *, keep: int = 50) -> None:
        self.shell = shell
        self.keep = keep
        self._by_cell: OrderedDict[int, list[Image]] = OrderedDict()
        # What the running cell shows; filed under its number when it ends (the shell's
        # execution_count during a cell is the cell's own on IPython 8, one more on 9).
        self._running: list[Image] | None = None
        self._hooked = False

    def install(self) -> None:
        """Start recording (idempotent)."""
        if self._hooked:
            return
        register = getattr(getattr(self.shell, "display_pub", None), "register_hook", None)
        if register is not None:  # ipykernel's publisher; IPython's own records outputs itself
            register(self._on_message)
        self.shell.events.register("pre_run_cell", self._on_pre_run_cell)
        self.shell.events.register("post_run_cell", self._on_post_run_cell)
        self._hooked = True

    def uninstall(self) -> None:
        """Stop recording and forget what was recorded."""
        if not self._hooked:
            return
        unregister = getattr(getattr(self.shell, "display_pub", None), "unregister_hook", None)
        if unregister is not None:
            unregister(self._on_message)
        for event, callback in (
            ("pre_run_cell", self._on_pre_run_cell),
            ("post_run_cell", self._on_post_run_cell),
        ):
            with contextlib.suppress(ValueError):
                self.shell.events.unregister(event, callback)
        self._by_cell.clear()
        self._hooked = False

    def images(self, number: int) -> tuple[Image, ...]:
        """What cell ``number`` showed: its displayed images in order, then its result's."""
        shown = [replace(i, source=f"cell {number}") for i in self._by_cell.get(number, ())]
        result = self._result_image(number)
        return tuple([*shown, result] if result is not None else shown)

    def _result_image(self, number: int) -> Image | None:
        history = getattr(self.shell, "history_manager", None)
        value = getattr(history, "output_hist", {}).get(number)
        formatter = getattr(self.shell, "display_formatter", None)
        if value is None or formatter is None:
            return None
        try:
            bundle, _ = formatter.format(value, include=IMAGE_OUTPUTS)
        except Exception:  # a user object whose repr fails: no picture, not our error
            return None
        return bundle_image(bundle, source=f"cell {number}")

    def _on_pre_run_cell(self, _info: Any = None) -> None:
        self._running = []

    def _on_post_run_cell(self, result: Any) -> None:
        shown, self._running = self._running, None
        number = getattr(result, "execution_count", None)
        if not shown or not isinstance(number, int) or number < 1:
            return
        self._by_cell[number] = shown[:MAX_IMAGES]
        while len(self._by_cell) > self.keep:
            self._by_cell.popitem(last=False)

    def _on_message(self, msg: dict[str, Any]) -> dict[str, Any]:
        # Runs for every display message of this thread: stay cheap, never raise, pass it on.
        if msg.get("msg_type") == "display_data":
            data = msg.get("content", {}).get("data")
            if self._running is not None and isinstance(data, Mapping):
                image = bundle_image(data, source="")
                if image is not None:
                    self._running.append(image)
        return msg
