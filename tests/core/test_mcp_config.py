"""mcp.json parsing: the Claude Desktop format, ${VAR} substitution, errors that help, merge."""

import json

import pytest

from collet_nb.core.mcp_config import McpTransport, merge, parse_mcp_config
from collet_nb.errors import ConfigError

SOURCE = "/p/.collet/mcp.json"


def parse(servers, env=None):
    return parse_mcp_config(json.dumps({"mcpServers": servers}), source=SOURCE, env=env or {})


def failure(servers, env=None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(servers, env)
    assert SOURCE in str(info.value)
    return info.value


def test_a_stdio_and_an_http_server_are_read_in_the_claude_desktop_format():
    servers = parse(
        {
            "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
            "docs": {"url": "https://example.org/mcp", "headers": {"X-Team": "blue"}},
        }
    )
    assert list(servers) == ["time", "docs"]
    time, docs = servers["time"], servers["docs"]
    assert (time.transport, time.command, time.args, dict(time.env), time.cwd) == (
        McpTransport.STDIO, "uvx", ("mcp-server-time",), {"TZ": "UTC"}, None,
    )  # fmt: skip
    assert (docs.transport, docs.url, dict(docs.headers)) == (
        McpTransport.HTTP, "https://example.org/mcp", {"X-Team": "blue"},
    )  # fmt: skip
    assert time.source == SOURCE
    assert time.display == "uvx mcp-server-time"
    assert not time.disabled


def test_a_type_field_that_agrees_with_the_entry_is_accepted():
    servers = parse(
        {
            "a": {"type": "stdio", "command": "x"},
            "b": {"type": "streamable-http", "url": "http://127.0.0.1:1/mcp"},
            "c": {"type": "http", "url": "http://127.0.0.1:1/mcp"},
        }
    )
    assert [s.transport for s in servers.values()] == [
        McpTransport.STDIO, McpTransport.HTTP, McpTransport.HTTP,
    ]  # fmt: skip


def test_a_blank_file_or_one_without_mcp_servers_has_no_servers():
    assert parse_mcp_config("  \n", source=SOURCE, env={}) == {}
    assert parse_mcp_config('{"other": 1}', source=SOURCE, env={}) == {}


def test_variables_are_substituted_everywhere_with_defaults_and_the_display_keeps_them():
    env = {"GH_TOKEN": "ghp_secret123", "BIN": "/opt/bin", "EMPTY": ""}
    servers = parse(
        {
            "gh": {
                "command": "${BIN}/gh-mcp",
                "args": ["--token=${GH_TOKEN}", "--mode=${MODE:-read}", "--x=${EMPTY:-dflt}"],
                "env": {"GITHUB_TOKEN": "${GH_TOKEN}"},
                "cwd": "${BIN}",
            },
            "web": {
                "url": "https://h/mcp?k=${GH_TOKEN}",
                "headers": {"Auth": "Bearer ${GH_TOKEN}"},
            },
        },
        env,
    )
    gh, web = servers["gh"], servers["web"]
    assert gh.command == "/opt/bin/gh-mcp"
    assert gh.args == ("--token=ghp_secret123", "--mode=read", "--x=dflt")
    assert dict(gh.env) == {"GITHUB_TOKEN": "ghp_secret123"}
    assert gh.cwd == "/opt/bin"
    assert web.url == "https://h/mcp?k=ghp_secret123"
    assert web.headers["Auth"] == "Bearer ghp_secret123"
    assert (
        gh.display
        == "'${BIN}/gh-mcp' '--token=${GH_TOKEN}' '--mode=${MODE:-read}' '--x=${EMPTY:-dflt}'"
    )
    assert web.display == "https://h/mcp?k=${GH_TOKEN}"


def test_secret_values_never_show_in_the_repr_and_redact_hides_them():
    env = {"API_KEY": "k-123456", "HOME_DIR": "/home/me"}
    servers = parse(
        {
            "a": {
                "command": "srv",
                "args": ["${API_KEY}", "${HOME_DIR}"],
                "env": {"X": "plain-value"},
            },
            "b": {"url": "https://h/mcp", "headers": {"Authorization": "Bearer abcdef"}},
        },
        env,
    )
    a, b = servers["a"], servers["b"]
    for text in (repr(a), repr(b), str(a), str(b)):
        assert "k-123456" not in text
        assert "abcdef" not in text
        assert "plain-value" not in text
    assert a.redact("failed with k-123456 and plain-value in /home/me") == (
        "failed with *** and *** in /home/me"
    )
    assert b.redact("401 for Bearer abcdef") == "401 for ***"


def test_an_unset_variable_is_an_error_that_names_it_but_no_value():
    error = failure(
        {"gh": {"command": "x", "env": {"T": "${GH_TOKEN}", "U": "${SET_ONE}"}}},
        {"SET_ONE": "s3cr3t-v"},
    )
    assert error.key == "mcpServers.gh.env.T"
    assert "${GH_TOKEN}" in str(error)
    assert "'gh'" in str(error)
    assert "s3cr3t-v" not in str(error)


def test_a_disabled_server_is_kept_and_its_variables_need_not_be_set():
    servers = parse({"off": {"command": "x", "args": ["${NOT_SET}"], "disabled": True}})
    assert servers["off"].disabled
    assert servers["off"].args == ("${NOT_SET}",)


@pytest.mark.parametrize(
    ("servers", "key"),
    [
        ({"gh": {}}, "mcpServers.gh"),
        ({"gh": {"command": "x", "url": "http://h/mcp"}}, "mcpServers.gh"),
        ({"gh": "npx server"}, "mcpServers.gh"),
        ({"gh": {"command": ["npx"]}}, "mcpServers.gh.command"),
        ({"gh": {"command": ""}}, "mcpServers.gh.command"),
        ({"gh": {"command": "x", "args": "a b"}}, "mcpServers.gh.args"),
        ({"gh": {"command": "x", "args": [1]}}, "mcpServers.gh.args"),
        ({"gh": {"command": "x", "env": {"PORT": 8080}}}, "mcpServers.gh.env"),
        ({"gh": {"command": "x", "cwd": 3}}, "mcpServers.gh.cwd"),
        ({"gh": {"command": "x", "disabled": "yes"}}, "mcpServers.gh.disabled"),
        ({"gh": {"command": "x", "headers": {}}}, "mcpServers.gh.headers"),
        ({"gh": {"url": "http://h/mcp", "args": []}}, "mcpServers.gh.args"),
        ({"gh": {"url": "ftp://h/mcp"}}, "mcpServers.gh.url"),
        ({"gh": {"type": "sse", "url": "http://h/sse"}}, "mcpServers.gh.type"),
        ({"gh": {"type": "websocket", "url": "ws://h"}}, "mcpServers.gh.type"),
        ({"gh": {"type": "stdio", "url": "http://h/mcp"}}, "mcpServers.gh.type"),
        ({"my server": {"command": "x"}}, "mcpServers.my server"),
        ({"a.b": {"command": "x"}}, "mcpServers.a.b"),
        ({"x" * 33: {"command": "x"}}, "mcpServers." + "x" * 33),
    ],
)
def test_a_malformed_entry_is_a_config_error_naming_file_server_and_field(servers, key):
    error = failure(servers)
    assert error.key == key
    assert repr(next(iter(servers))) in str(error)


def test_broken_json_or_a_wrong_top_level_shape_names_the_file():
    for text in ('{"mcpServers": {', "[1, 2]", '{"mcpServers": []}'):
        with pytest.raises(ConfigError) as info:
            parse_mcp_config(text, source=SOURCE, env={})
        assert info.value.key == "mcpServers"
        assert SOURCE in str(info.value)
    with pytest.raises(ConfigError, match="line 1, column"):
        parse_mcp_config('{"mcpServers": {', source=SOURCE, env={})


def test_a_project_server_replaces_the_global_one_of_the_same_name():
    home = parse_mcp_config(
        json.dumps({"mcpServers": {"time": {"command": "a"}, "git": {"command": "g"}}}),
        source="/home/.collet/mcp.json",
        env={},
    )
    project = parse({"time": {"command": "b"}, "docs": {"url": "http://h/mcp"}})
    merged = merge(home, project)
    assert list(merged) == ["time", "git", "docs"]
    assert merged["time"].command == "b"
    assert merged["time"].source == SOURCE
    assert merged["git"].source == "/home/.collet/mcp.json"
    assert merge(home, {}) == home
