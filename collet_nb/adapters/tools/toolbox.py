"""``Toolbox``: one ToolPort over ordered tool sources (built-ins, skills, MCP servers), with a
BM25 index of every tool and, when MCP tools are many, their schemas deferred behind
``tool_search``.

The offered set is ``specs()`` at each model request: non-MCP tools always; MCP tools all at once
while there are at most ``defer_above`` of them, else, after ``tool_search`` itself, those the
model already called in this session and those revealed for the current user message (by
:meth:`Toolbox.focus` or a ``tool_search`` call).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from collet_nb.adapters.tools.arguments import check_arguments
from collet_nb.adapters.tools.index import ToolIndex, fingerprint, tokenize
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec
from collet_nb.core.ports import PortSource, ToolPort, ToolSource, as_source
from collet_nb.errors import ToolError

T = TypeVar("T")

logger = logging.getLogger(__name__)

MCP_PREFIX = "mcp__"

TOOL_SEARCH = ToolSpec(
    name="tool_search",
    description=(
        "Find tools of the connected MCP servers that are not listed yet. Describe what you need "
        "(a service, an action, an object: 'create a GitHub issue'); returns the best matches "
        "with their parameter schemas, and those tools can be called from your next step."
    ),
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "Keywords or a sentence"},
            "limit": {
                "type": "integer",
                "minimum": 1,
                "description": "How many tools to return (default 5, at most 20)",
            },
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    read_only=True,
)

_MAX_SEARCH_LIMIT = 20


@dataclass(frozen=True, kw_only=True, eq=False)  # compared by identity: that is the cache key
class _Catalog:
    """Every source's tools at one moment.

    Attributes:
        returned: what each source's ``specs()`` returned (to notice when it changes).
        owners: tool name → (its spec, the source that runs it), in offering order.
        every: all the specs, in offering order.
        local: those that are not MCP tools (offered even while MCP tools are deferred).
    """

    returned: tuple[Sequence[ToolSpec], ...]
    owners: dict[str, tuple[ToolSpec, ToolSource]]
    every: tuple[ToolSpec, ...]
    local: tuple[ToolSpec, ...]

    @property
    def mcp_count(self) -> int:
        """How many MCP tools there are."""
        return len(self.every) - len(self.local)


def is_mcp(spec: ToolSpec) -> bool:
    """Whether ``spec`` is an MCP server's tool (named ``mcp__<server>__<tool>``)."""
    return spec.name.startswith(MCP_PREFIX)


class Toolbox(ToolSource):
    """The tools of a session: ordered sources behind one ToolSource.

    Sources are asked for their specs at every ``specs()`` and ``call()``, so a source may add
    or drop tools at any time (an MCP server starting or dying). A name offered by two sources
    belongs to the earlier one. The index of all tools is rebuilt on first use after the set of
    names and descriptions changes. A source that returns the very same tuple while its tools
    are unchanged lets the toolbox reuse what it gathered (with 3,000 MCP tools, ``specs()``
    then takes ≈3 µs instead of ≈0.6 ms: bench/tool_index.py).

    Revealed MCP tools stay offered until :meth:`reset_focus`: the runner calls ``reset_focus()``
    then ``focus(text)`` when a user message starts, so each message begins with the tools its
    own text calls for, plus whatever ``tool_search`` finds during it. A deferred tool the model
    has called stays offered for the rest of the session (the conversation names it).

    The hooks ``begin_turn``, ``prepare``, ``prompt_section`` and ``aclose`` go to every source,
    in priority order; a source that is a plain ToolPort is wrapped (``as_source``).
    """

    def __init__(
        self,
        sources: Iterable[ToolPort],
        *,
        defer_above: int = 10,
        search_limit: int = 5,
        hide: Callable[[str], bool] | None = None,
    ) -> None:
        """Compose ``sources``.

        Args:
            sources: the tool ports, in priority order.
            defer_above: above this many MCP tools, their schemas are deferred.
            search_limit: how many tools ``tool_search`` returns when the model gives no limit.
            hide: names that are never offered, indexed or run (a policy's deny-list).
        """
        self.hide = hide
        if defer_above < 0:
            raise ValueError(f"defer_above must be at least 0, not {defer_above}")
        self._sources: list[ToolSource] = [as_source(source) for source in sources]
        self.defer_above = defer_above
        self.search_limit = search_limit
        # An ordered set: revealed tools are offered in the order they were found, so each
        # new one lands at the end of the list and the earlier part stays unchanged.
        self._revealed: dict[str, None] = {}
        self._called: dict[str, None] = {}  # deferred tools the model called, in that order
        self._catalog = _Catalog(returned=(), owners={}, every=(), local=())
        self._index = ToolIndex(())
        self._indexed: _Catalog | None = None

    @property
    def sources(self) -> tuple[ToolPort, ...]:
        """The sources as they were given, in priority order."""
        return tuple(s.inner if isinstance(s, PortSource) else s for s in self._sources)

    def add(self, source: ToolPort) -> None:
        """Append a source (its tools rank after those of earlier sources)."""
        self._sources.append(as_source(source))

    @property
    def revealed(self) -> frozenset[str]:
        """Names of the deferred tools offered for the current message."""
        return frozenset(self._revealed)

    @property
    def deferring(self) -> bool:
        """Whether MCP schemas are deferred behind ``tool_search`` right now."""
        return self._defers(self._gather())

    @property
    def index(self) -> ToolIndex:
        """The index of every tool now (rebuilt if the tool set changed since it was built)."""
        return self._index_of(self._gather())

    def specs(self) -> Sequence[ToolSpec]:
        """The tools to offer the model for the next request."""
        catalog = self._gather()
        if not self._defers(catalog):
            return catalog.every
        owners = catalog.owners
        # Called tools first: they only grow, so the list's prefix stays stable across messages.
        names = dict.fromkeys([*self._called, *self._revealed])
        shown = [owners[name][0] for name in names if name in owners]
        # tool_search sits before the revealed tools, so the list's prefix stays stable.
        return (*catalog.local, TOOL_SEARCH, *shown)

    async def call(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        """Run ``call`` in the source that owns the tool (``tool_search`` runs here)."""
        if call.name == TOOL_SEARCH.name:
            return self._tool_search(call, arguments)
        entry = self._gather().owners.get(call.name)
        if entry is None:
            close = self.suggest(call.name)
            hint = f"close matches: {', '.join(close)}" if close else "no tool has a similar name"
            return _error(call, f"unknown tool {call.name!r}; {hint}")
        if is_mcp(entry[0]):
            self._called[call.name] = None
        return await entry[1].call(call, arguments)

    def rank(self, query: str, k: int = 10) -> list[tuple[ToolSpec, float]]:
        """Every tool ranked for ``query`` (the ``/tools QUERY`` command), best first."""
        return self.index.search(query, k)

    def suggest(self, name: str, k: int = 5) -> list[str]:
        """Names of the tools closest to ``name`` (for an unknown-tool message)."""
        return [spec.name for spec, _ in self.index.search(name, k)]

    def focus(self, user_text: str, k: int = 5) -> tuple[ToolSpec, ...]:
        """Reveal the ``k`` deferred tools ``user_text`` calls for; returns them.

        Does nothing (returns ``()``) while MCP tools are not deferred.
        """
        catalog = self._gather()
        if not self._defers(catalog):
            return ()
        hits = self._index_of(catalog).search(user_text, k, where=is_mcp)
        found = tuple(spec for spec, _ in hits)
        self._reveal(found)
        return found

    def reset_focus(self) -> None:
        """Hide again every tool revealed so far (call when a new user message starts)."""
        self._revealed.clear()

    def begin_turn(self, message_id: str) -> None:
        """Tell every source that ``message_id`` starts."""
        for source in self._sources:
            source.begin_turn(message_id)

    async def prepare(self) -> list[str]:
        """Get every source ready for a turn (start MCP servers, rediscover skills); return
        what the user should be told. A source that fails here is reported, not fatal."""
        notices: list[str] = []
        for source in self._sources:
            try:
                notices.extend(str(problem) for problem in await source.prepare())
            except Exception as exc:  # the turn goes on with the tools that work
                name = _name(source)
                logger.exception("preparing %s failed", name)
                notices.append(f"{name} failed to prepare: {exc}")
        return notices

    def prompt_section(self) -> str:
        """The sources' sections of the system prompt (skills, notebook tools), joined."""
        return "\n\n".join(part for source in self._sources if (part := source.prompt_section()))

    async def aclose(self) -> None:
        """Close every source that holds resources (MCP servers); idempotent."""
        for source in self._sources:
            try:
                await source.aclose()
            except Exception:  # one source failing to close must not keep the others up
                logger.exception("closing %s failed", _name(source))

    def find(self, type_: type[T]) -> T | None:
        """The first source of ``type_``, looking through wrappers' ``inner``; else None."""
        for source in self._sources:
            layer: object = source
            for _ in range(8):  # wrappers nest a few deep at most; a cycle must not hang us
                if isinstance(layer, type_):
                    return layer
                layer = getattr(layer, "inner", None)
                if layer is None:
                    break
        return None

    def _gather(self) -> _Catalog:
        returned = tuple(source.specs() for source in self._sources)
        last = self._catalog
        if len(returned) == len(last.returned) and all(
            isinstance(new, tuple) and new is old
            for new, old in zip(returned, last.returned, strict=True)
        ):
            return last  # tuples cannot change: every source still has the same tools
        owners: dict[str, tuple[ToolSpec, ToolSource]] = {}
        for source, specs in zip(self._sources, returned, strict=True):
            for spec in specs:
                if spec.name in owners or spec.name == TOOL_SEARCH.name:
                    continue
                if self.hide is None or not self.hide(spec.name):
                    owners[spec.name] = (spec, source)
        every = tuple(spec for spec, _ in owners.values())
        local = tuple(spec for spec in every if not is_mcp(spec))
        self._catalog = _Catalog(returned=returned, owners=owners, every=every, local=local)
        return self._catalog

    def _reveal(self, specs: Iterable[ToolSpec]) -> None:
        self._revealed.update(dict.fromkeys(spec.name for spec in specs))

    def _defers(self, catalog: _Catalog) -> bool:
        return catalog.mcp_count > self.defer_above

    def _index_of(self, catalog: _Catalog) -> ToolIndex:
        if self._indexed is not catalog:
            if self._index.fingerprint != fingerprint(catalog.every):
                self._index = ToolIndex(catalog.every)
            self._indexed = catalog
        return self._index

    def _tool_search(self, call: ToolCall, arguments: Mapping[str, Any]) -> ToolResult:
        try:
            args = check_arguments(TOOL_SEARCH, arguments)
        except ToolError as exc:
            return _error(call, str(exc))
        query: str = args["query"]
        if not tokenize(query):
            return _error(
                call,
                f"the query {query!r} has no words to search for; describe the tool you need, "
                "e.g. 'create a GitHub issue'",
            )
        limit = min(int(args.get("limit", self.search_limit)), _MAX_SEARCH_LIMIT)
        catalog = self._gather()
        deferring = self._defers(catalog)
        hits = self._index_of(catalog).search(query, limit, where=is_mcp if deferring else None)
        # Schemas come from the sources now: the index keys on names and descriptions only.
        found = [catalog.owners[spec.name][0] for spec, _ in hits]
        if not found:
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=f"no tool matches {query!r}; try other words (a service, an action)",
            )
        if deferring:
            self._reveal(found)
        listing = [
            {"name": s.name, "description": s.description, "parameters": s.parameters}
            for s in found
        ]
        payload = {"tools": listing, "note": "call these tools directly from your next step"}
        return ToolResult(
            call_id=call.id, name=call.name, content=json.dumps(payload, separators=(",", ":"))
        )


def _name(source: ToolSource) -> str:
    """The class name of ``source`` (of the port inside, for a wrapped one)."""
    return type(source.inner if isinstance(source, PortSource) else source).__name__


def _error(call: ToolCall, message: str) -> ToolResult:
    return ToolResult(call_id=call.id, name=call.name, content=message, is_error=True)
