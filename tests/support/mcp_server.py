"""An in-repo MCP server for the manager's tests, over stdio or Streamable HTTP on loopback.

Run ``python tests/support/mcp_server.py stdio`` or ``... http PORT``. Options: ``--fail-start``
(write to stderr, exit 2 before serving), ``--hang-start`` (never answer), ``--stderr TEXT``
(write a line to stderr at start). The tools cover every path of the client: text, numbers, a
read-only annotation, an image, an error result, a crash mid-call, a call that never returns.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading

from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

server = MCPServer("collet-test", log_level="WARNING")

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("transport", choices=["stdio", "http"])
    parser.add_argument("port", nargs="?", type=int, default=0)
    parser.add_argument("--fail-start", action="store_true")
    parser.add_argument("--hang-start", action="store_true")
    parser.add_argument("--stderr", default="")
    args = parser.parse_args()
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
