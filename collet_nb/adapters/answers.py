"""Saved answers of ``%%collet`` cells on disk: one JSON file per answer under
``$COLLET_HOME/cells/``, named by its key (``collet_nb.core.answers.answer_key``). Written
atomically (a torn file is never read as an answer); unreadable files count as absent.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from collet_nb.core.answers import SavedAnswer

log = logging.getLogger("collet_nb")


class AnswerCache:
    """Saved answers in one folder (``$COLLET_HOME/cells``)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, key: str) -> SavedAnswer | None:
        """The answer saved under ``key``, if any (a damaged file counts as none)."""
        try:
            data = json.loads((self.folder / f"{key}.json").read_text(encoding="utf-8"))
            return SavedAnswer.from_dict(data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("collet: ignored a damaged saved answer %s: %s", key[:12], exc)
            return None

    def put(self, key: str, answer: SavedAnswer) -> None:
        """Save ``answer`` under ``key`` (replacing an older one), atomically.

        Raises:
            OSError: when the folder cannot be written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{key}.json"
        partial = target.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(answer.to_dict(), ensure_ascii=False), encoding="utf-8")
        os.replace(partial, target)
