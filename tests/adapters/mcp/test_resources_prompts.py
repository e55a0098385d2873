"""Resources and prompts of MCP servers (issue 19, headless): ``/mcp resources NAME``,
``/mcp prompts NAME`` and ``/prompt SERVER NAME key=value…``, against the in-repo server (its
``--extras`` add a resource and a prompt; ``--tools-only`` offers neither), over stdio and
Streamable HTTP, and against ``@modelcontextprotocol/server-everything``."""

import asyncio
import json
import sys

import pytest

from collet_nb.core.commands import help_text, parse_command
from collet_nb.errors import ConfigError, McpServerError
from tests.adapters.mcp.harness import (
    SERVER,
    everything_stdio,
    http_server,
    managing,
    run,
    stdio,
)
from tests.runtime.test_hub import NB, command, make_hub
from tests.support.stand_ins import last_user, text


def test_the_in_repo_servers_resource_and_prompt_are_listed(tmp_path):
    # Mutation: McpResource.from_listing dropping mime_type -> the first assert fails.
    async def scenario():
        async with managing(tmp_path, {"t": stdio("--extras")}) as manager:
            (resource,) = await manager.resources("t")
            assert (resource.uri, resource.name, resource.mime_type) == (
                "collet://notes/readme", "readme", "text/plain",
            )  # fmt: skip
            (prompt,) = await manager.prompts("t")
            assert prompt.name == "review"
            assert [(a.name, a.required) for a in prompt.arguments] == [
                ("code", True), ("focus", False),
            ]  # fmt: skip

    run(scenario())


def test_a_prompt_becomes_text_with_its_image_described(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": stdio("--extras")}) as manager:
            said = await manager.prompt("t", "review", {"code": "x = 1", "focus": "style"})
            assert said.startswith("Review this code for style:\nx = 1")
            assert "[image: image/png, " in said
            with pytest.raises(ConfigError) as missing:
                await manager.prompt("t", "review", {"focus": "style"})
            with pytest.raises(ConfigError) as unknown:
                await manager.prompt("t", "nope", {})
            return str(missing.value), str(unknown.value)

    missing, unknown = run(scenario())
    # Mutation: not checking required arguments -> no ConfigError (the server's error instead).
    assert "missing required argument 'code'" in missing
    assert "usage: /prompt t review code=VALUE [focus=VALUE]" in missing
    assert "\n" not in missing
    assert "'nope'" in unknown
    assert "review" in unknown


def test_a_server_without_resources_or_prompts_says_so(tmp_path):
    # Mutation: ManagedServer._require not checking -> listing fails as "Method not found".
    async def scenario():
        async with managing(tmp_path, {"t": stdio("--tools-only")}) as manager:
            with pytest.raises(McpServerError) as resources:
                await manager.resources("t")
            with pytest.raises(McpServerError) as prompts:
                await manager.prompt("t", "review", {"code": "x"})
            return str(resources.value), str(prompts.value)

    resources, prompts = run(scenario())
    assert (
        resources == "MCP server 't': does not offer resources (its capabilities do not list them)"
    )
    assert "does not offer prompts" in prompts


def test_resources_and_prompts_over_streamable_http(tmp_path):
    async def scenario():
        with http_server(tmp_path / "http.log", None, "--extras") as (url, _):
            async with managing(tmp_path, {"web": {"url": url}}) as manager:
                (resource,) = await manager.resources("web")
                assert resource.uri == "collet://notes/readme"
                said = await manager.prompt("web", "review", {"code": "y = 2"})
                assert said.startswith("Review this code for bugs:\ny = 2")

    run(scenario())


def test_server_everythings_resources_and_prompts(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            resources = await manager.resources("everything")
            prompts = {p.name: p for p in await manager.prompts("everything")}
            said = await manager.prompt("everything", "args-prompt", {"city": "Lyon"})
            with pytest.raises(ConfigError) as missing:
                await manager.prompt("everything", "args-prompt", {"state": "Rhône"})
            embedded = await manager.prompt(
                "everything", "resource-prompt", {"resourceType": "Text", "resourceId": "1"}
            )
            return resources, prompts, said, str(missing.value), embedded

    resources, prompts, said, missing, embedded = run(scenario())
    assert resources, "server-everything lists resources"
    assert all(r.uri and r.name for r in resources)
    assert any(r.mime_type == "text/markdown" for r in resources)
    assert [(a.name, a.required) for a in prompts["args-prompt"].arguments] == [
        ("city", True), ("state", False),
    ]  # fmt: skip
    assert "Lyon" in said
    assert "missing required argument 'city'" in missing
    assert "[resource " in embedded  # the embedded resource, described


def configure(tmp_path, servers) -> None:
    folder = tmp_path / "project" / ".collet"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "mcp.json").write_text(json.dumps({"mcpServers": servers}))


def test_the_commands_list_and_send_a_prompt_as_a_user_message(tmp_path):
    configure(tmp_path, {"t": {"command": sys.executable, "args": [SERVER, "stdio", "--extras"]}})
    asked = []

    def reply(request):
        asked.append(last_user(request))
        return text("looks fine")

    async def main():
        hub = make_hub(tmp_path, reply)
        runner = hub.runner(NB)
        resources = await command(hub, "/mcp resources t").later()
        prompts = await command(hub, "/mcp prompts t").later()
        sent = await command(hub, '/prompt t review code="x = 1" focus=names').later()
        await runner.wait_idle(60)
        with pytest.raises(ConfigError) as missing:
            await command(hub, "/prompt t review focus=names").later()
        with pytest.raises(ConfigError) as bad_pair:
            command(hub, "/prompt t review code")
        with pytest.raises(ConfigError) as unknown_server:
            command(hub, "/prompt nope review")
        texts = [m.text for m in runner.session.messages]
        await hub.aclose()
        return resources, prompts, sent, missing, bad_pair, unknown_server, texts

    resources, prompts, sent, missing, bad_pair, unknown_server, texts = asyncio.run(main())
    assert resources == "collet://notes/readme · readme · text/plain"
    assert prompts == "review(code*, focus): Ask for a code review."
    # Mutation: _prompt not calling runner.send -> no message, no model request.
    assert sent == "prompt review of t: sent as m1"
    assert texts[0].startswith("Review this code for names:\nx = 1\n\n[image: image/png")
    assert asked
    assert asked[0].startswith("Review this code for names:")
    assert "missing required argument 'code'" in str(missing.value)
    assert "key=value" in str(bad_pair.value)
    assert "nope" in str(unknown_server.value)
    assert len(texts) == 1  # nothing was sent for the failed ones


def test_the_commands_say_none_and_not_offered(tmp_path):
    configure(
        tmp_path,
        {
            "plain": {"command": sys.executable, "args": [SERVER, "stdio"]},
            "bare": {"command": sys.executable, "args": [SERVER, "stdio", "--tools-only"]},
        },
    )

    async def main():
        hub = make_hub(tmp_path)
        none = await command(hub, "/mcp resources plain").later()
        no_prompts = await command(hub, "/mcp prompts plain").later()
        with pytest.raises(McpServerError) as bare:
            await command(hub, "/mcp resources bare").later()
        with pytest.raises(ConfigError) as nameless:
            command(hub, "/mcp prompts")
        await hub.aclose()
        return none, no_prompts, str(bare.value), str(nameless.value)

    none, no_prompts, bare, nameless = asyncio.run(main())
    assert none == "plain: no resources (none)"
    assert no_prompts == "plain: no prompts (none)"
    assert "does not offer resources" in bare
    assert "NAME" in nameless


def test_help_lists_the_new_commands():
    shown = help_text()
    assert "/mcp [list|restart NAME|resources NAME|prompts NAME]" in shown
    assert "/prompt SERVER NAME [key=value …]" in shown
    assert parse_command("/prompt s p a=1 'b=two words'").args == ("s", "p", "a=1", "b=two words")
    with pytest.raises(ConfigError):
        parse_command("/prompt s")
