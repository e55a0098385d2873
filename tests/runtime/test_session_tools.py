"""A session's tools through the hub: skills in the prompt and the skill tool, notices for
skipped skills, a skill added mid-session, /skills and /tools QUERY."""

import asyncio

from collet_nb.core.events import Notice, ToolResultReady
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.stand_ins import answered_tools, call, text

SKILL = """---
name: {name}
description: {description}
---
# {name}

Step one: read the data. Step two: plot it.
"""


def write_skill(root, name, description="Make charts from CSV files."):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL.format(name=name, description=description))
    return folder


def test_a_projects_skill_is_listed_in_the_prompt_and_loaded_through_the_skill_tool(tmp_path):
    skills = tmp_path / "project" / ".collet" / "skills"
    write_skill(skills, "charts")
    seen = []

    def reply(request):
        seen.append(request)
        if answered_tools(request) == 0:
            return [call("skill", {"name": "charts"})]
        return text("loaded")

    async def main():
        hub = make_hub(tmp_path, reply)
        runner = hub.runner(NB)
        events = []
        runner.subscribe(events.append)
        runner.send("make me a chart")
        await runner.wait_idle(10)
        await hub.aclose()
        return events

    events = asyncio.run(main())
    assert "charts" in seen[0].system
    assert "Make charts from CSV files." in seen[0].system
    assert "skill" in [t.name for t in seen[0].tools]
    result = next(e for e in events if isinstance(e, ToolResultReady))
    assert not result.is_error
    assert "Step one: read the data." in result.content


def test_a_broken_skill_is_reported_once_and_one_added_later_is_there_next_message(tmp_path):
    skills = tmp_path / "project" / ".collet" / "skills"
    write_skill(skills, "Bad-Name")
    prompts = []

    def reply(request):
        prompts.append(request.system)
        return text("ok")

    async def main():
        hub = make_hub(tmp_path, reply)
        runner = hub.runner(NB)
        notices = []
        runner.subscribe(lambda e: notices.append(e) if isinstance(e, Notice) else None)
        runner.send("first")
        await runner.wait_idle(10)
        write_skill(skills, "reports", "Write weekly reports.")
        runner.send("second")
        await runner.wait_idle(10)
        listing = command(hub, "/skills").text
        await hub.aclose()
        return notices, listing

    notices, listing = asyncio.run(main())
    assert len(notices) == 1  # told once, not at every message
    assert "Bad-Name" in notices[0].text
    assert "lowercase" in notices[0].text
    assert "Write weekly reports." not in prompts[0]
    assert "Write weekly reports." in prompts[1]
    assert "reports" in listing
    assert "Skipped (1)" in listing


def test_tools_with_a_query_ranks_the_matching_tool_first(tmp_path):
    async def main():
        hub = make_hub(tmp_path)
        hub.runner(NB)
        ranked = command(hub, "/tools run a shell command").text
        everything = command(hub, "/tools").text
        await hub.aclose()
        return ranked, everything

    ranked, everything = asyncio.run(main())
    assert ranked.splitlines()[0].split()[1] == "bash:"
    assert {"file_read", "file_write", "file_edit", "bash", "search"} <= {
        line.split(":")[0].split(" ")[0] for line in everything.splitlines()
    }
