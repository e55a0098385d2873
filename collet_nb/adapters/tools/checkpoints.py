"""Checkpoints: before the first change to a file in a turn, keep its original (or its absence)
so ``/rewind`` can put the files back. Changes made by ``bash`` are not tracked.

Checkpoints live in memory and on disk (``$COLLET_HOME/checkpoints/<session>/``), one per turn
that wrote files, named by the message id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collet_nb.adapters.tools.builtin import BuiltinTools
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.ports import ToolSource
from collet_nb.errors import ColletError, ConfigError, UsageError

WRITING_TOOLS = frozenset({"file_write", "file_edit"})


@dataclass(kw_only=True)
class Checkpoint:
    """The originals of the files one turn changed.

    Attributes:
        id: the message id of the turn.
        originals: path → its bytes before the turn (None: it did not exist).
    """

    id: str
    originals: dict[str, bytes | None] = field(default_factory=dict)


class CheckpointStore:
    """Keeps checkpoints in memory, mirrored to ``folder`` (one subfolder per checkpoint)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.checkpoints: list[Checkpoint] = []
        self._load()

    def _load(self) -> None:
        for manifest in sorted(
            self.folder.glob("*/manifest.json"), key=lambda p: p.stat().st_mtime
        ):
            data = json.loads(manifest.read_text(encoding="utf-8"))
            originals: dict[str, bytes | None] = {}
            for path, name in data["files"].items():
                originals[path] = None if name is None else (manifest.parent / name).read_bytes()
            self.checkpoints.append(Checkpoint(id=data["id"], originals=originals))

    def remember(self, checkpoint_id: str, path: Path) -> None:
        """Keep ``path``'s current content under ``checkpoint_id`` unless already kept."""
        cp = next((c for c in self.checkpoints if c.id == checkpoint_id), None)
        if cp is None:
            cp = Checkpoint(id=checkpoint_id)
            self.checkpoints.append(cp)
        key = str(path)
        if key in cp.originals:
            return
        cp.originals[key] = path.read_bytes() if path.is_file() else None
        self._save(cp)

    def _save(self, cp: Checkpoint) -> None:
        target = self.folder / cp.id
        target.mkdir(parents=True, exist_ok=True)
        files: dict[str, str | None] = {}
        for n, (path, data) in enumerate(cp.originals.items()):
            if data is None:
                files[path] = None
            else:
                (target / f"{n}.orig").write_bytes(data)
                files[path] = f"{n}.orig"
        (target / "manifest.json").write_text(
            json.dumps({"id": cp.id, "files": files}), encoding="utf-8"
        )

    def rewind(self, checkpoint_id: str | None = None) -> list[str]:
        """Restore the files as they were before ``checkpoint_id`` (default: the latest turn).

        Later checkpoints are undone first, newest first, so the files end as they were just
        before that turn. Returns the paths restored.

        Raises:
            UsageError: when there is no checkpoint yet.
            ConfigError: when there is no checkpoint ``checkpoint_id``.
        """
        if not self.checkpoints:
            raise UsageError("no checkpoints: the agent has not changed any file yet")
        ids = [c.id for c in self.checkpoints]
        target = checkpoint_id or ids[-1]
        if target not in ids:
            raise ConfigError(f"no checkpoint {target}; the checkpoints are: {', '.join(ids)}")
        index = ids.index(target)
        restored: list[str] = []
        for cp in reversed(self.checkpoints[index:]):
            for path, data in cp.originals.items():
                file = Path(path)
                if data is None:
                    file.unlink(missing_ok=True)
                else:
                    file.parent.mkdir(parents=True, exist_ok=True)
                    file.write_bytes(data)
                restored.append(path)
            for leftover in (self.folder / cp.id).glob("*"):
                leftover.unlink()
            (self.folder / cp.id).rmdir()
        del self.checkpoints[index:]
        return sorted(set(restored))


class CheckpointingTools(ToolSource):
    """A ToolSource that checkpoints files before the built-in tools change them.

    The runner names the turn with :meth:`begin_turn` (its message id).
    """

    def __init__(self, inner: BuiltinTools, store: CheckpointStore) -> None:
        self.inner = inner
        self.store = store
        self.turn = "m0"

    def begin_turn(self, message_id: str) -> None:
        """Checkpoints made from now on belong to ``message_id``."""
        self.turn = message_id

    def specs(self) -> Sequence[ToolSpec]:
        """The inner tools' specs."""
        return self.inner.specs()

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Checkpoint the target of a write, then run the call."""
        path = arguments.get("path")
        if call.name in WRITING_TOOLS and isinstance(path, str):
            try:
                resolved = self.inner.workspace().resolve(path, tool=call.name)
            except ColletError:
                pass  # out of scope or invalid: the tool itself refuses it with its message
            else:
                self.store.remember(self.turn, resolved)
        return await self.inner.call(call, arguments)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
