"""The MCP server list of an mcp.json file: parse, validate, substitute ``${VAR}``, merge.

Pure: the caller reads the file and passes the environment. Errors name the file, the server and
what to do, and never carry a value that came from the environment (tokens live there).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from collet_nb.errors import ConfigError

# A server's name becomes part of its tools' names (mcp__<server>__<tool>), which providers
# limit to [A-Za-z0-9_-] and 64 characters.
SERVER_NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Substituted values from variables named like this are redacted wherever they could show.
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASS|AUTH|CRED|COOKIE|SESSION|PAT$", re.IGNORECASE)
_MIN_SECRET = 4  # shorter values would redact ordinary words
_STDIO_KEYS = ("command", "args", "env", "cwd")
_HTTP_KEYS = ("url", "headers")
_HTTP_TYPES = ("http", "streamable-http", "streamableHttp", "streamable_http")


class McpTransport(StrEnum):
    """How collet_nb talks to a server."""

    STDIO = "stdio"
    HTTP = "http"


@dataclass(frozen=True, kw_only=True)
class McpServerConfig:
    """One entry of ``mcpServers``, with ``${VAR}`` substituted.

    Attributes:
        name: the server's name (the key in ``mcpServers``).
        source: the file it came from.
        transport: ``stdio`` (``command``) or ``http`` (``url``).
        command: the executable of a stdio server.
        args: its arguments.
        env: extra environment variables for it.
        cwd: its working directory (relative paths are the manager's to resolve).
        url: the Streamable HTTP endpoint of an http server.
        headers: HTTP headers sent with every request.
        disabled: ``"disabled": true``: listed, never started.
        display: the command line or URL as the file writes it (``${VAR}`` not expanded), safe
            to show in messages and logs.
        secrets: values that came from the environment or carry credentials; ``redact`` hides
            them.
    """

    name: str
    source: str
    transport: McpTransport
    command: str = field(default="", repr=False)
    args: tuple[str, ...] = field(default=(), repr=False)
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    cwd: str | None = None
    url: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    disabled: bool = False
    display: str = ""
    secrets: frozenset[str] = field(default=frozenset(), repr=False)

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***``."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def parse_mcp_config(
    text: str, *, source: str, env: Mapping[str, str]
) -> dict[str, McpServerConfig]:
    """Parse the text of an mcp.json file.

    Args:
        text: the file's content (blank means no servers).
        source: the file's path, for messages.
        env: the environment ``${VAR}`` and ``${VAR:-default}`` are taken from.

    Returns:
        The servers by name, in the file's order; disabled ones included (not substituted).

    Raises:
        ConfigError: for broken JSON, a wrong type, a bad server name, a server with neither or
            both of ``command`` and ``url``, or an unset ``${VAR}``; ``key`` is where in the
            file (``mcpServers.NAME.FIELD``).
    """
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            'fix it: the format is {"mcpServers": {"NAME": {"command": ..., "args": [...]}}}',
            key="mcpServers",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            f'{source} must hold a JSON object with an "mcpServers" object, not a '
            f"{_json_type(data)}",
            key="mcpServers",
        )
    servers = data.get("mcpServers", {})
    if not isinstance(servers, dict):
        raise ConfigError(
            f'"mcpServers" in {source} must be an object of servers by name, not a '
            f"{_json_type(servers)}",
            key="mcpServers",
        )
    return {
        name: _Entry(name=name, source=source, env=env).parse(entry)
        for name, entry in servers.items()
    }


def merge(
    global_servers: Mapping[str, McpServerConfig], project_servers: Mapping[str, McpServerConfig]
) -> dict[str, McpServerConfig]:
    """The servers of both files; a project server replaces a global one of the same name."""
    merged = dict(global_servers)
    merged.update(project_servers)
    return merged


class _Entry:
    """Validates one server entry and collects the secrets its substitutions produce."""

    def __init__(self, *, name: str, source: str, env: Mapping[str, str]) -> None:
        self.name = name
        self.source = source
        self.env = env
        self.secrets: set[str] = set()
        self.substitute = True

    def parse(self, entry: object) -> McpServerConfig:
        if not isinstance(self.name, str) or not SERVER_NAME.fullmatch(self.name):
            raise ConfigError(
                f"MCP server name {self.name!r} in {self.source} is not allowed: it becomes part "
                "of tool names, so use 1 to 32 letters, digits, '_' or '-' (e.g. 'github')",
                key=f"mcpServers.{self.name}",
            )
        if not isinstance(entry, dict):
            raise self.error("", f"must be an object, not a {_json_type(entry)}")
        disabled = entry.get("disabled", False)
        if not isinstance(disabled, bool):
            raise self.error("disabled", "must be true or false")
        # A disabled server never starts: a variable it needs may well be unset.
        self.substitute = not disabled
        transport = self.transport(entry)
        if transport is McpTransport.STDIO:
            return self.stdio(entry, disabled=disabled)
        return self.http(entry, disabled=disabled)

    def transport(self, entry: dict[str, Any]) -> McpTransport:
        kind = entry.get("type")
        if kind == "sse":
            raise self.error(
                "type",
                "uses the SSE transport, which collet_nb does not support; use the "
                'server\'s Streamable HTTP endpoint ("url") or run it over stdio ("command")',
            )
        if kind is not None and kind != "stdio" and kind not in _HTTP_TYPES:
            raise self.error("type", f"must be 'stdio' or 'http', not {kind!r}")
        has_command, has_url = "command" in entry, "url" in entry
        if has_command and has_url:
            raise self.error(
                "",
                'has both "command" and "url": keep "command" for a server collet_nb starts '
                '(stdio), or "url" for one already running (Streamable HTTP)',
            )
        if not has_command and not has_url:
            raise self.error(
                "",
                'has neither "command" nor "url": give "command" (and "args") to start it '
                'over stdio, or "url" for a Streamable HTTP server',
            )
        transport = McpTransport.STDIO if has_command else McpTransport.HTTP
        if kind is not None and (kind == "stdio") != has_command:
            given = "command" if has_command else "url"
            raise self.error("type", f'says {kind!r} but the entry has "{given}"')
        wrong = [k for k in (_HTTP_KEYS if has_command else _STDIO_KEYS) if k in entry]
        if wrong:
            raise self.error(
                wrong[0],
                f"does not apply to a {transport.value} server; remove it (a {transport.value} "
                f"server takes {', '.join(_STDIO_KEYS if has_command else _HTTP_KEYS)})",
            )
        return transport

    def stdio(self, entry: dict[str, Any], *, disabled: bool) -> McpServerConfig:
        command = self.text(entry, "command")
        if not command:
            raise self.error("command", "must not be empty: name the program to run")
        raw_args = entry.get("args", [])
        if not isinstance(raw_args, list) or not all(isinstance(a, str) for a in raw_args):
            raise self.error("args", 'must be a list of strings, e.g. ["-y", "some-server"]')
        args = tuple(self.expand(a, "args") for a in raw_args)
        env = self.mapping(entry, "env")
        cwd = self.text(entry, "cwd") if "cwd" in entry else None
        # Every env value is treated as a credential: that is what servers take there.
        self.secrets.update(v for v in env.values() if len(v) >= _MIN_SECRET)
        return McpServerConfig(
            name=self.name,
            source=self.source,
            transport=McpTransport.STDIO,
            command=command,
            args=args,
            env=MappingProxyType(env),
            cwd=cwd,
            disabled=disabled,
            display=shlex.join([entry["command"], *raw_args]),
            secrets=frozenset(self.secrets),
        )

    def http(self, entry: dict[str, Any], *, disabled: bool) -> McpServerConfig:
        url = self.text(entry, "url")
        if not url.startswith(("http://", "https://")):
            raise self.error("url", "must start with http:// or https://")
        headers = self.mapping(entry, "headers")
        self.secrets.update(v for v in headers.values() if len(v) >= _MIN_SECRET)
        return McpServerConfig(
            name=self.name,
            source=self.source,
            transport=McpTransport.HTTP,
            url=url,
            headers=MappingProxyType(headers),
            disabled=disabled,
            display=entry["url"],
            secrets=frozenset(self.secrets),
        )

    def text(self, entry: dict[str, Any], key: str) -> str:
        value = entry.get(key)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, not a {_json_type(value)}")
        return self.expand(value, key)

    def mapping(self, entry: dict[str, Any], key: str) -> dict[str, str]:
        value = entry.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(
                key, 'must be an object of strings, e.g. {"NAME": "value"} (quote numbers)'
            )
        return {k: self.expand(v, f"{key}.{k}") for k, v in value.items()}

    def expand(self, value: str, where: str) -> str:
        if not self.substitute:
            return value

        def replace(match: re.Match[str]) -> str:
            variable, default = match.group(1), match.group(2)
            found = self.env.get(variable)
            if found is None or (found == "" and default is not None):
                if default is None:
                    raise self.error(
                        where,
                        f"uses ${{{variable}}}, which is not set in the environment; set "
                        f"it before starting Jupyter (or in the notebook with %env "
                        f"{variable}=...), give a default as ${{{variable}:-default}}, or add "
                        '"disabled": true',
                    )
                found = default
            elif _SECRET_NAME.search(variable) and len(found) >= _MIN_SECRET:
                self.secrets.add(found)
            return found

        return _VARIABLE.sub(replace, value)

    def error(self, where: str, problem: str) -> ConfigError:
        place = f" `{where}`" if where else ""
        key = f"mcpServers.{self.name}" + (f".{where}" if where else "")
        return ConfigError(f"MCP server {self.name!r} in {self.source}:{place} {problem}", key=key)


def _json_type(value: object) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
