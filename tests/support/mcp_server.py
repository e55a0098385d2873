"""An in-repo MCP server for the manager's tests, over stdio or Streamable HTTP on loopback.

Run ``python tests/support/mcp_server.py stdio`` or ``... http PORT``. Options: ``--fail-start``
(write to stderr, exit 2 before serving), ``--hang-start`` (never answer), ``--stderr TEXT``
(write a line to stderr at start), ``--handshake-only`` (over HTTP: refuse ``server/discover``,
so clients fall back to the 2025-11-25 handshake, with a stateful session a restart loses),
``--tools-only`` (declare neither resources nor prompts among its capabilities). The
tools cover every path of the client: text, numbers, a read-only annotation, an image, an error
result, a crash mid-call, a call that never returns. With ``--extras`` four more (kept out by
default: more than ten tools would put them all behind ``tool_search`` in the sessions that use
this server): one that adds a tool at runtime (and says so), one that logs, one that reports
progress, one that asks for the client's roots; and a resource (``collet://notes/readme``) and
a prompt (``review``: ``code`` required, ``focus`` optional; its second message is an image).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import warnings
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, Image, ListRoots, MCPServer, Resolve, UserMessage
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning, MCPError
from mcp_types import METHOD_NOT_FOUND, ListRootsResult, ToolAnnotations

# ctx.log and session.send_tool_list_changed are deprecated at 2026-07-28, but still how
# handshake-era (2025-11-25) clients are told.
warnings.simplefilter("ignore", MCPDeprecationWarning)

HANDSHAKE_ONLY: set[str] = set()  # holds "yes" with --handshake-only


async def _handshake_only(ctx: Any, call_next: Any) -> Any:
    if HANDSHAKE_ONLY and ctx.method == "server/discover":
        raise MCPError(code=METHOD_NOT_FOUND, message="Method not found")
    return await call_next(ctx)


server = MCPServer("collet-test", log_level="WARNING", middleware=[_handshake_only])

# A 1×1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@server.tool(description="Return the text unchanged.")
def echo(text: str) -> str:
    return text


@server.tool(description="Add two integers.")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(
    description="Tell this server's process id.", annotations=ToolAnnotations(read_only_hint=True)
)
def pid() -> str:
    return str(os.getpid())


@server.tool(description="Tell an environment variable of the server (empty if unset).")
def env(name: str) -> str:
    return os.environ.get(name, "")


@server.tool(description="Tell the server's working directory.")
def cwd() -> str:
    return os.getcwd()


@server.tool(description="Tell a request header (HTTP only; empty if absent).")
def header(name: str, ctx: Context) -> str:
    headers = ctx.headers or {}
    return headers.get(name.lower(), "")


@server.tool(description="Return a one-pixel PNG and a caption.", structured_output=False)
def picture() -> list[object]:
    return ["a pixel", Image(data=PNG, format="png")]


@server.tool(description="Always fail with a tool error.")
def fail(reason: str) -> str:
    raise ToolError(f"failed on purpose: {reason}")


@server.tool(description="Exit the server process in the middle of the call.")
def crash() -> str:
    sys.stderr.write("crashing on request\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool(description="Never return.")
async def hang() -> str:
    import anyio

    await anyio.sleep_forever()
    return "unreachable"


async def grow(name: str, text: str, ctx: Context) -> str:
    def added() -> str:
        return text

    """Add a tool named `name` that answers `text`, and tell the client."""
    server.add_tool(added, name=name, description=f"A tool added at runtime: answers {text!r}.")
    if (ctx.protocol_version or "") >= "2026-07-28":
        await ctx.notify_tools_changed()  # to subscriptions/listen streams
    else:
        await ctx.session.send_tool_list_changed()
    return f"added {name}"


async def chatter(level: str, text: str, ctx: Context) -> str:
    """Send a log notification at `level` with `text`."""
    await ctx.log(level, text, logger_name="chatter")  # type: ignore[arg-type]
    return f"logged at {level}"


async def slow(steps: int, delay: float, ctx: Context) -> str:
    """Report progress `steps` times, `delay` seconds apart."""
    for step in range(1, steps + 1):
        await anyio.sleep(delay)
        await ctx.report_progress(step, steps, f"step {step} of {steps}")
    return f"done {steps}"


def _ask_roots() -> ListRoots:
    return ListRoots()


def roots(found: Annotated[ListRootsResult, Resolve(_ask_roots)]) -> str:
    """Tell the client's roots, one URI a line."""
    return "\n".join(str(root.uri) for root in found.roots) or "(no roots)"


EXTRAS = (grow, chatter, slow, roots)

README = "collet test server: notes kept for the tests."


def readme() -> str:
    return README


def review(code: str, focus: str = "bugs") -> list[UserMessage]:
    """Ask for a review of `code`, looking for `focus`."""
    return [
        UserMessage(f"Review this code for {focus}:\n{code}"),
        UserMessage(Image(data=PNG, format="png")),
    ]


def add_extras() -> None:
    for tool in EXTRAS:
        server.add_tool(tool)
    server.resource("collet://notes/readme", name="readme", mime_type="text/plain")(readme)
    server.prompt(name="review", description="Ask for a code review.")(review)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--fail-start", action="store_true")
    parser.add_argument("--hang-start", action="store_true")
    parser.add_argument("--stderr", default="")
    parser.add_argument("--handshake-only", action="store_true")
    parser.add_argument("--extras", action="store_true")
    parser.add_argument("--tools-only", action="store_true")
    args = parser.parse_args()
    if args.extras:
        add_extras()
    if args.tools_only:
        # Capabilities follow the methods served: without these, it offers neither.
        handlers = server._lowlevel_server._request_handlers
        for method in ("resources/list", "resources/read", "resources/templates/list"):
            handlers.pop(method, None)
        handlers.pop("prompts/list", None)
        handlers.pop("prompts/get", None)
    if args.handshake_only:
        HANDSHAKE_ONLY.add("yes")
    if args.stderr:
        sys.stderr.write(args.stderr + "\n")
        sys.stderr.flush()
    if args.fail_start:
        sys.stderr.write("collet-test: cannot start: TEST_TOKEN is not set\n")
        sys.exit(2)
    if args.hang_start:
        threading.Event().wait()
    if args.transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=args.port)


if __name__ == "__main__":
    main()
