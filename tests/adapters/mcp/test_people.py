"""What servers ask of the client's side (issue 19), against the in-repo server (``--people``:
a 2026-07-28 connection over stdio, a 2025-11-25 one over HTTP with ``--handshake-only``) and
``@modelcontextprotocol/server-everything``: elicitations answered through the session's real
``ElicitationDesk`` (defaults applied, declined, a URL to open), list changes of resources and
prompts followed, and resources attached for ``@server:uri`` mentions."""

import asyncio
import json

from collet_nb.core.events import ElicitationRequested, ElicitationResolved, Notice
from collet_nb.runtime.elicitations import ElicitationDesk
from tests.adapters.mcp.harness import (
    everything_stdio,
    http_server,
    managing,
    run,
    stdio,
    use,
    wait_until,
)

PEOPLE = stdio("--people")


async def desk_for(manager):
    """A session's real desk answering the manager's questions (servers started); its events,
    in order."""
    events = []
    desk = ElicitationDesk(emit=events.append)
    manager.listen(events.append)

    async def never(_mid, request):
        raise AssertionError(f"no sampling expected here: {request}")

    manager.answer_with(elicit=desk.ask, sample=never)
    manager.begin_turn("m1")
    assert await manager.prepare() == ()
    return desk, events


async def answered(desk, call, answer):
    """Run ``call`` (a tool call that asks), and ``answer(desk)`` once a question waits."""
    task = asyncio.ensure_future(call)
    await wait_until(lambda: bool(desk.waiting()) or task.done(), timeout=30)
    assert desk.waiting(), f"nothing was asked: {task.result() if task.done() else ''}"
    answer(desk)
    return await task


def test_an_elicitation_answered_with_only_the_required_field_gets_the_defaults(tmp_path):
    # Mutation: fill() not applying defaults -> what was sent (the resolved event's content)
    # lacks age, colour and subscribe (the server's own model would fill them in itself).
    async def scenario():
        async with managing(tmp_path, {"t": PEOPLE}) as manager:
            desk, events = await desk_for(manager)
            result = await answered(
                desk,
                use(manager, "mcp__t__ask"),
                lambda d: d.accept(None, {"name": "Ada"}, by="command"),
            )
            return result, events

    result, events = run(scenario())
    assert not result.is_error, result.content
    sent = json.loads(result.content.removeprefix("accepted "))
    assert sent == {"name": "Ada", "age": 30, "colour": "green", "subscribe": False}
    (asked,) = [e for e in events if isinstance(e, ElicitationRequested)]
    assert (asked.message_id, asked.elicitation_id, asked.server, asked.mode) == (
        "m1",
        "e1",
        "t",
        "form",
    )
    assert [f["name"] for f in asked.fields] == ["name", "age", "colour", "subscribe"]
    assert [f["required"] for f in asked.fields] == [True, False, False, False]
    (done,) = [e for e in events if isinstance(e, ElicitationResolved)]
    assert (done.action, done.by) == ("accept", "command")
    assert json.loads(done.content) == sent  # what the server got, defaults included


def test_a_declined_elicitation_sends_nothing_but_decline(tmp_path):
    async def scenario():
        async with managing(tmp_path, {"t": PEOPLE}) as manager:
            desk, events = await desk_for(manager)
            result = await answered(
                desk, use(manager, "mcp__t__ask"), lambda d: d.decline(None, by="button")
            )
            return result, events

    result, events = run(scenario())
    assert result.content == "decline"
    (done,) = [e for e in events if isinstance(e, ElicitationResolved)]
    assert (done.action, done.content, done.by) == ("decline", "", "button")


def test_over_the_handshake_a_url_elicitation_shows_its_link_and_waits_for_the_person(tmp_path):
    async def scenario():
        with http_server(tmp_path / "http.log", None, "--people", "--handshake-only") as (url, _):
            async with managing(tmp_path, {"web": {"url": url}}) as manager:
                desk, events = await desk_for(manager)
                result = await answered(
                    desk,
                    use(manager, "mcp__web__ask_link"),
                    lambda d: d.accept(None, {}, by="button"),
                )
                form = await answered(
                    desk,
                    use(manager, "mcp__web__ask"),
                    lambda d: d.accept(None, {"name": "Bo"}, by="button"),
                )
                return result, form, events

    result, form, events = run(scenario())
    asked = [e for e in events if isinstance(e, ElicitationRequested)]
    assert (asked[0].mode, asked[0].url, asked[0].fields) == (
        "url",
        "https://example.org/sign-in",
        [],
    )
    assert result.content == "link accept"
    assert form.content.startswith('accepted {"name":"Bo","age":30')


def test_server_everythings_big_form_answered_headless_with_its_defaults(tmp_path):
    # Every kind of field server-everything asks for: titled, untitled, legacy and multiple
    # choices, formats, limits; only the required name is given.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            desk, events = await desk_for(manager)
            await wait_until(
                lambda: (
                    "mcp__everything__trigger-elicitation-request"
                    in {s.name for s in manager.specs()}
                ),
                timeout=10,
            )
            result = await answered(
                desk,
                use(manager, "mcp__everything__trigger-elicitation-request"),
                lambda d: d.accept(None, {"name": "Ada Lovelace"}, by="command"),
            )
            return result, events

    result, events = run(scenario())
    assert "✅ User provided the requested information!" in result.content
    raw = json.loads(result.content.split("Raw result: ", 1)[1])
    assert raw["action"] == "accept"
    assert raw["content"] == {
        "name": "Ada Lovelace",
        "firstLine": "It was a dark and stormy night.",
        "integer": 42,
        "number": 3.14,
        "untitledSingleSelectEnum": "Monica",
        "untitledMultipleSelectEnum": ["Guitar"],
        "titledSingleSelectEnum": "hero-1",
        "titledMultipleSelectEnum": ["fish-1"],
        "legacyTitledEnum": "pet-1",
    }
    (asked,) = [e for e in events if isinstance(e, ElicitationRequested)]
    types = {f["name"]: f["type"] for f in asked.fields}
    assert types["check"] == "boolean"
    assert types["titledMultipleSelectEnum"] == "choices"
    assert types["legacyTitledEnum"] == "choice"


def test_server_everythings_url_elicitation_shows_the_link_and_a_decline_is_sent(tmp_path):
    # Registered only for a client declaring URL-mode elicitation.
    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            desk, events = await desk_for(manager)
            name = "mcp__everything__trigger-url-elicitation"
            await wait_until(lambda: name in {s.name for s in manager.specs()}, timeout=10)
            result = await answered(
                desk,
                use(manager, name, url="https://example.org/pay", message="Pay here."),
                lambda d: d.decline(None, by="sidebar"),
            )
            return result, events

    result, events = run(scenario())
    (asked,) = [e for e in events if isinstance(e, ElicitationRequested)]
    assert (asked.mode, asked.url, asked.message) == ("url", "https://example.org/pay", "Pay here.")
    assert "❌ User declined to open the URL" in result.content


async def listed(manager, kind):
    method = manager.resources if kind == "resources" else manager.prompts
    return await method("t")


async def follow_list_changes(manager):
    """A kept listing is not asked for again until the server says its list changed; then
    the next listing shows the new entry."""
    await listed(manager, "resources")  # (a change stream opening meanwhile: not kept yet)
    resources = await listed(manager, "resources")
    assert await listed(manager, "resources") is resources  # kept: the server announces changes
    assert (await use(manager, "mcp__t__add_note", name="n2", text="hi")).content.startswith(
        "added"
    )
    await wait_until_listed(manager, "resources", "collet://notes/n2")
    await listed(manager, "prompts")
    prompts = await listed(manager, "prompts")
    assert await listed(manager, "prompts") is prompts
    assert (await use(manager, "mcp__t__add_prompt", name="later")).content == "added prompt later"
    await wait_until_listed(manager, "prompts", "later")


async def wait_until_listed(manager, kind, name, timeout=10.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = await listed(manager, kind)
        if name in {getattr(item, "uri", None) or getattr(item, "name", "") for item in found}:
            return
        assert loop.time() < deadline, f"{name} never listed among {kind}: {found}"
        await asyncio.sleep(0.05)


def test_resources_and_prompts_follow_list_changed_over_stdio(tmp_path):
    # Mutation: _on_message ignoring notifications/resources/list_changed -> the kept listing
    # never shows collet://notes/n2 and wait_until_listed fails.
    async def scenario():
        async with managing(tmp_path, {"t": PEOPLE}) as manager:
            await follow_list_changes(manager)

    run(scenario())


def test_server_everythings_new_session_resource_is_listed_after_its_list_change(tmp_path):
    # A 2025-11-25 server (TypeScript SDK): registering a resource sends resources/list_changed.
    # Mutation: _on_message ignoring it -> the kept listing never shows the new resource.
    gz = "demo://resource/session/hello.txt.gz"

    async def scenario():
        async with managing(tmp_path, {"everything": everything_stdio()}) as manager:
            await manager.prepare()
            first = await manager.resources("everything")
            assert await manager.resources("everything") is first  # kept until a change
            made = await use(
                manager, "mcp__everything__gzip-file-as-resource", name="hello.txt.gz",
                data="data:text/plain;base64,aGVsbG8=", outputType="resourceLink",
            )  # fmt: skip
            assert gz in made.content, made.content
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while gz not in {r.uri for r in await manager.resources("everything")}:
                assert loop.time() < deadline, "the new resource was never listed"
                await asyncio.sleep(0.05)
            markdown = next(r.uri for r in first if r.mime_type == "text/markdown")
            said, _ = await manager.attach(f"see @everything:{gz} and @everything:{markdown}")
            return said, markdown

    said, markdown = run(scenario())
    attached = said.split("Attached for the @mentions above:\n\n")[1]
    gz_block, md_block = attached.split("\n\n@everything:")
    assert gz_block.startswith(f"@everything:{gz} (MCP resource of everything, application/gzip):")
    assert "bytes: binary content, not attached as text" in gz_block
    assert md_block.startswith(f"{markdown} (MCP resource of everything, text/markdown):\n")


def test_a_resource_mention_attaches_its_text_and_sends_its_image(tmp_path):
    # Mutation: attach() not reading (returning the text unchanged) -> no blocks.
    async def scenario():
        async with managing(tmp_path, {"t": PEOPLE}) as manager:
            events = []
            manager.listen(events.append)
            manager.begin_turn("m3")
            said, images = await manager.attach(
                "Read @t:collet://notes/readme, look at @t:collet://notes/pixel; "
                "@t:collet://notes/missing is not there and @nope:demo://x is not a server."
            )
            return said, images, events

    said, images, events = run(scenario())
    # The picture goes with the message as an image (mutation: attach() returning no images).
    (pixel,) = images
    assert (pixel.mime, pixel.dimensions, pixel.source) == (
        "image/png",
        (1, 1),
        "@t:collet://notes/pixel",
    )
    typed, attached = said.split("\n\n---\nAttached for the @mentions above:\n\n")
    assert typed.startswith("Read @t:collet://notes/readme")
    blocks = attached.split("\n\n")
    assert blocks[0] == (
        "@t:collet://notes/readme (MCP resource of t, text/plain):\n"
        "collet test server: notes kept for the tests."
    )
    assert blocks[1].startswith(
        "@t:collet://notes/pixel (MCP resource of t, image/png):\n[image/png, "
    )
    assert "an image, attached as one]" in blocks[1]
    assert blocks[2].startswith("@t:collet://notes/missing: not attached: MCP server 't'")
    assert len(blocks) == 3  # @nope names no configured server: left as typed
    notices = [(e.message_id, e.level, e.text) for e in events if isinstance(e, Notice)]
    assert notices[0] == (
        "m3",
        "info",
        "attached @t:collet://notes/readme (text/plain, 45 characters)",
    )
    assert notices[2][1] == "warning"


def test_an_image_in_a_sampling_request_goes_to_the_model_as_an_image():
    # Mutation: _sampled describing images in the text again -> no image parts.
    import mcp_types

    from collet_nb.adapters.mcp.people import sampling_of
    from tests.support.images import png_base64

    png = png_base64(8, 6)
    params = mcp_types.CreateMessageRequestParams(
        messages=[
            mcp_types.SamplingMessage(
                role="user",
                content=[
                    mcp_types.TextContent(type="text", text="What is in this picture?"),
                    mcp_types.ImageContent(type="image", data=png, mime_type="image/png"),
                ],
            )
        ],
        max_tokens=50,
    )
    request = sampling_of("t", params)
    (message,) = request.chat()
    assert message.content == "What is in this picture?"
    (image,) = message.images
    assert (image.mime, image.data, image.dimensions) == ("image/png", png, (8, 6))
