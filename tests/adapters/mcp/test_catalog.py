"""Model-facing MCP tool names and specs: safe, unique, read-only only when annotated."""

import logging

from mcp_types import Tool, ToolAnnotations

from collet_nb.adapters.mcp.catalog import MAX_NAME, Catalog, McpTool, qualified_name


def test_a_tool_is_named_mcp_server_tool_and_unsafe_characters_become_underscores():
    assert qualified_name("time", "get_current_time") == "mcp__time__get_current_time"
    assert qualified_name("fs", "read.file/v2") == "mcp__fs__read_file_v2"


def test_an_overlong_name_is_cut_to_the_limit_and_stays_unique():
    long_a, long_b = "x" * 80 + "a", "x" * 80 + "b"
    a, b = qualified_name("server", long_a), qualified_name("server", long_b)
    assert len(a) == len(b) == MAX_NAME
    assert a != b
    assert a == qualified_name("server", long_a)  # stable


def test_a_listed_tool_is_read_only_only_when_annotated_read_only():
    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    listed = [
        Tool(name="a", input_schema=schema, annotations=ToolAnnotations(read_only_hint=True)),
        Tool(name="b", input_schema=schema, annotations=ToolAnnotations(read_only_hint=False)),
        Tool(name="c", input_schema=schema, annotations=ToolAnnotations(destructive_hint=False)),
        Tool(name="d", input_schema=schema, description="does d"),
    ]
    tools = [McpTool.from_listing(t) for t in listed]
    assert [t.read_only for t in tools] == [True, False, False, False]
    assert tools[3].description == "does d"
    assert tools[0].input_schema == schema


def test_the_catalog_offers_specs_and_resolves_names_back_to_server_and_tool(caplog):
    tools = {
        "fs": [
            McpTool(name="read.file", description="Read", read_only=True),
            McpTool(name="read_file"),
        ],
        "time": [McpTool(name="now", input_schema={"properties": {}})],
    }
    with caplog.at_level(logging.WARNING):
        catalog = Catalog(tools)
    names = [s.name for s in catalog.specs]
    assert names == ["mcp__fs__read_file", "mcp__time__now"]  # the clash keeps the first
    assert "only the first is kept" in caplog.text
    server, tool = catalog.resolve("mcp__fs__read_file")
    assert (server, tool.name) == ("fs", "read.file")
    assert catalog.resolve("mcp__nope__x") is None
    read, now = catalog.specs
    assert read.read_only
    assert not now.read_only
    assert now.parameters == {"type": "object", "properties": {}}
    assert now.description == "now (MCP server time)"  # a server gave none
