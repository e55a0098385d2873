"""Checkpoints: every file a turn changes can be put back, newest turns undone first."""

import asyncio

import pytest

from collet_nb.adapters.tools.checkpoints import CheckpointStore
from collet_nb.errors import ConfigError, UsageError
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.stand_ins import answered_tools, call, last_user, text

WRITES = {
    "first": [
        ("file_write", {"path": "a.txt", "content": "A1"}),
        ("file_edit", {"path": "b.txt", "old_string": "B0", "new_string": "B1"}),
        ("file_write", {"path": "a.txt", "content": "A1 again"}),
    ],
    "second": [("file_write", {"path": "a.txt", "content": "A2"})],
}


def scripted(request):
    steps = WRITES[last_user(request)]
    done = answered_tools(request)
    if done < len(steps):
        name, args = steps[done]
        return [call(name, args, call_id=f"c{done}")]
    return text("done")


def test_rewind_restores_files_as_they_were_before_a_turn(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "b.txt").write_text("B0")

    async def main():
        hub = make_hub(tmp_path, reply=scripted)
        runner = hub.runner(NB)
        runner.send("first")
        runner.send("second")
        await runner.wait_idle()
        listing = command(hub, "/checkpoints").text
        after_two = ((project / "a.txt").read_text(), (project / "b.txt").read_text())
        undo_second = command(hub, "/rewind").text
        after_one = ((project / "a.txt").read_text(), (project / "b.txt").read_text())
        command(hub, "/rewind m1")
        await hub.aclose()
        return listing, after_two, undo_second, after_one

    listing, after_two, undo_second, after_one = asyncio.run(main())
    assert listing.splitlines()[:2] == ["m1: 2 file(s): a.txt, b.txt", "m2: 1 file(s): a.txt"]
    assert after_two == ("A2", "B1")
    assert undo_second.startswith("restored 1 file(s)")
    assert after_one == ("A1 again", "B1")
    assert not (project / "a.txt").exists()  # it did not exist before m1
    assert (project / "b.txt").read_text() == "B0"


def test_checkpoints_survive_on_disk_and_unknown_ids_are_named(tmp_path):
    (tmp_path / "f.txt").write_bytes(b"\x00binary\xff")
    store = CheckpointStore(tmp_path / "cps")
    store.remember("m1", tmp_path / "f.txt")
    (tmp_path / "f.txt").write_text("changed")
    again = CheckpointStore(tmp_path / "cps")
    with pytest.raises(ConfigError, match="the checkpoints are: m1"):
        again.rewind("m7")
    assert again.rewind() == [str(tmp_path / "f.txt")]
    assert (tmp_path / "f.txt").read_bytes() == b"\x00binary\xff"
    with pytest.raises(UsageError, match="no checkpoints"):
        again.rewind()
