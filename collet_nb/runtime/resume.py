"""Whether this notebook's last session ended mid-turn (a crash, a killed kernel), told at
``%load_ext`` with the ``/resume`` that brings it back. Reads only journal headers, then one
journal, so loading stays fast with many sessions."""

from __future__ import annotations

from pathlib import Path

from collet_nb.adapters.journal import read_header, read_records
from collet_nb.core.kinds import ChannelId
from collet_nb.core.replay import replay


def interrupted_notice(home: Path, channel: ChannelId, live_id: str | None) -> str | None:
    """What to tell the user when ``channel``'s newest journaled session other than the live
    one (``live_id``) left messages unfinished, else None. Once that session is resumed, its
    interrupted messages are journaled as failed and the notice goes away."""
    mine = [
        (path.stat().st_mtime, path)
        for path in (home / "sessions").glob("*.jsonl")
        if path.stem != live_id and read_header(path).get("channel") == str(channel)
    ]
    if not mine:
        return None
    path = max(mine)[1]
    interrupted = replay(read_records(path)).interrupted()
    if not interrupted:
        return None
    sid = path.stem[:8]
    return (
        f"the last session of this notebook ({sid}) ended mid-turn: "
        f"{len(interrupted)} message(s) did not finish. `%collet /resume {sid}` restores "
        "it; then `%collet /retry` runs the interrupted message again"
    )
