"""Build time and query latency of the BM25 tool index over 3,000 realistic tools.

Generates seeded MCP-style tools (``mcp__<server>__<verb>_<object>``, varied descriptions and
parameters), times ``ToolIndex(specs)`` and ``ToolIndex.search`` over paraphrased queries, and
reports how often the tool a query paraphrases ranks first / in the top 5. It also compares the
index's regex tokenizer with bm25s' own (query tokenizing time and ranking), the measurement
behind the choice in ``collet_nb/adapters/tools/index.py``, and times a ``Toolbox`` over the same
tools per request: ``specs()`` (first and unchanged), ``focus()`` and a ``tool_search`` call.

    .venv/bin/python bench/tool_index.py [--tools 3000] [--queries 1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.report import Row, at_most, percentile  # noqa: E402
from collet_nb.adapters.tools.index import ToolIndex, document, tokenize  # noqa: E402
from collet_nb.adapters.tools.toolbox import Toolbox  # noqa: E402
from collet_nb.core.chat import ToolCall, ToolResult, ToolSpec  # noqa: E402

SERVERS = {
    "github": "GitHub repository",
    "gitlab": "GitLab project",
    "jira": "Jira project",
    "linear": "Linear workspace",
    "slack": "Slack workspace",
    "notion": "Notion workspace",
    "postgres": "PostgreSQL database",
    "mysql": "MySQL database",
    "sqlite": "SQLite database file",
    "redis": "Redis instance",
    "s3": "Amazon S3 bucket",
    "gcs": "Google Cloud Storage bucket",
    "kubernetes": "Kubernetes cluster",
    "docker": "Docker engine",
    "stripe": "Stripe account",
    "gmail": "Gmail mailbox",
    "calendar": "Google Calendar",
    "drive": "Google Drive",
    "confluence": "Confluence space",
    "sentry": "Sentry organisation",
    "datadog": "Datadog account",
    "pagerduty": "PagerDuty service",
    "figma": "Figma file",
    "airtable": "Airtable base",
    "hubspot": "HubSpot CRM",
    "salesforce": "Salesforce org",
    "zendesk": "Zendesk help desk",
    "shopify": "Shopify store",
    "twilio": "Twilio account",
    "vercel": "Vercel team",
}

OBJECTS = {
    "issue": ("title", "body", "labels", "assignee", "state"),
    "pull_request": ("title", "head", "base", "draft", "reviewers"),
    "comment": ("body", "thread_id", "author"),
    "branch": ("name", "from_ref", "protected"),
    "file": ("path", "content", "encoding", "ref"),
    "user": ("user_id", "email", "display_name", "role"),
    "channel": ("channel_id", "topic", "is_private"),
    "message": ("text", "channel_id", "thread_ts", "attachments"),
    "table": ("table_name", "schema", "columns"),
    "query": ("sql", "params", "timeout_ms", "read_only"),
    "record": ("record_id", "fields", "table_name"),
    "pod": ("namespace", "pod_name", "container", "tail_lines"),
    "deployment": ("namespace", "deployment_name", "replicas", "image"),
    "container": ("container_id", "image", "command", "env"),
    "invoice": ("invoice_id", "customer_id", "amount", "currency", "due_date"),
    "customer": ("customer_id", "email", "name", "metadata"),
    "event": ("event_id", "start_time", "end_time", "timezone", "attendees"),
    "email": ("to", "subject", "body", "cc", "thread_id"),
    "page": ("page_id", "title", "parent_id", "content"),
    "alert": ("alert_id", "severity", "service", "acknowledged"),
    "dashboard": ("dashboard_id", "title", "widgets", "time_range"),
    "ticket": ("ticket_id", "subject", "priority", "requester"),
    "order": ("order_id", "status", "customer_id", "line_items"),
    "webhook": ("url", "events", "secret", "active"),
    "secret": ("secret_name", "value", "version"),
}

VERBS = {
    "create": ("Create a new {obj} in the {where}", "make a new {obj}"),
    "get": ("Get a single {obj} by its id from the {where}", "fetch one {obj}"),
    "list": ("List every {obj} in the {where}, with paging", "show all {obj}s"),
    "update": ("Update the fields of an existing {obj} in the {where}", "change a {obj}"),
    "delete": ("Delete a {obj} from the {where} permanently", "remove a {obj}"),
    "search": ("Search {obj}s in the {where} by a free-text query", "find {obj}s matching"),
    "archive": ("Archive a {obj} so it no longer shows in the {where}", "archive old {obj}"),
    "export": ("Export {obj}s from the {where} as CSV or JSON", "download {obj}s as csv"),
}

PARAM_TEXT = {
    "limit": "Maximum number of results to return",
    "cursor": "Opaque cursor from the previous page",
    "query": "Free-text search query",
    "format": "Output format: csv or json",
}

FILLERS = (
    "Requires an API token with the right scope.",
    "Returns the result as JSON.",
    "Rate limited to 100 requests per minute.",
    "",
    "",
)

EXTRA_TOOLS = (
    ToolSpec(
        name="mcp__time__get_current_time",
        description="Get the current time in a specific timezone",
        parameters={
            "type": "object",
            "properties": {"timezone": {"type": "string", "description": "IANA timezone name"}},
        },
    ),
    ToolSpec(
        name="mcp__time__convert_time",
        description="Convert a time between timezones",
        parameters={
            "type": "object",
            "properties": {
                "source_timezone": {"type": "string"},
                "time": {"type": "string"},
                "target_timezone": {"type": "string"},
            },
        },
    ),
)


def make_tools(count: int, seed: int = 7) -> tuple[list[ToolSpec], list[tuple[str, str]]]:
    """``count`` tools and, for each, a paraphrased query that should find it."""
    rng = random.Random(seed)
    combos = [(s, o, v) for s in SERVERS for o in OBJECTS for v in VERBS]
    rng.shuffle(combos)
    tools: list[ToolSpec] = list(EXTRA_TOOLS)
    queries = [(t.name, t.description.lower()) for t in EXTRA_TOOLS]
    for server, obj, verb in combos[: count - len(tools)]:
        where = SERVERS[server]
        words = obj.replace("_", " ")
        template, paraphrase = VERBS[verb]
        description = f"{template.format(obj=words, where=where)}. {rng.choice(FILLERS)}".strip()
        fields = list(OBJECTS[obj])
        rng.shuffle(fields)
        names = fields[: rng.randint(1, len(fields))]
        if verb in ("list", "search", "export"):
            names += ["limit", "cursor"] + (["query"] if verb == "search" else [])
            names += ["format"] if verb == "export" else []
        properties: dict[str, Any] = {
            n: {"type": "string", "description": PARAM_TEXT.get(n, f"The {n.replace('_', ' ')}")}
            for n in names
        }
        name = f"mcp__{server}__{verb}_{obj}"
        tools.append(
            ToolSpec(
                name=name,
                description=description,
                parameters={"type": "object", "properties": properties, "required": names[:1]},
            )
        )
        queries.append((name, f"{paraphrase.format(obj=words)} in {server}"))
    return tools, queries


_BM25S_SPLIT = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|[_\-]+")


def bm25s_document(spec: ToolSpec) -> str:
    """The same fields as ``document``, as text for bm25s' tokenizer (names pre-split)."""
    parts = [_BM25S_SPLIT.sub(" ", spec.name)] * 2 + [spec.description]
    for name, field in spec.parameters.get("properties", {}).items():
        parts += [_BM25S_SPLIT.sub(" ", name), str(field.get("description", ""))]
    return " ".join(parts)


def micro(values: list[float]) -> dict[str, float]:
    us = [v * 1e6 for v in values]
    return {
        "p50_us": round(statistics.median(us), 1),
        "p95_us": round(percentile(us, 0.95), 1),
        "max_us": round(max(us), 1),
    }


def quality(rank: list[list[str]], queries: list[tuple[str, str]]) -> dict[str, float]:
    top1 = sum(1 for names, (want, _) in zip(rank, queries, strict=True) if names[:1] == [want])
    top5 = sum(1 for names, (want, _) in zip(rank, queries, strict=True) if want in names[:5])
    return {"top1": round(top1 / len(queries), 3), "top5": round(top5 / len(queries), 3)}


def compare_tokenizers(tools: list[ToolSpec], queries: list[tuple[str, str]]) -> dict[str, Any]:
    """Query tokenizing time and ranking of the regex tokenizer vs bm25s.tokenize."""
    import bm25s

    texts = [q for _, q in queries]
    out: dict[str, Any] = {}
    regex_index = bm25s.BM25()
    regex_index.index([document(t) for t in tools], show_progress=False)
    library_index = bm25s.BM25()
    corpus = bm25s.tokenize([bm25s_document(t) for t in tools], return_ids=False, stopwords="en")
    library_index.index(corpus, show_progress=False)

    def regex_tokens(text: str) -> list[str]:
        return tokenize(text)

    def library_tokens(text: str) -> list[str]:
        tokens: list[str] = bm25s.tokenize(
            text, return_ids=False, stopwords="en", show_progress=False
        )[0]
        return tokens

    for label, tokens_of, index in (
        ("regex", regex_tokens, regex_index),
        ("bm25s", library_tokens, library_index),
    ):
        timings, ranks = [], []
        for text in texts:
            start = time.perf_counter()
            tokens = tokens_of(text)
            timings.append(time.perf_counter() - start)
            ids = index.get_tokens_ids(tokens)
            if not ids:
                ranks.append([])
                continue
            scores = index.get_scores_from_ids(ids)
            ranks.append([tools[i].name for i in scores.argsort()[::-1][:5]])
        out[label] = {"tokenize": micro(timings), **quality(ranks, queries)}
    return out


class Listing:
    """A tool source returning one tuple, as an MCP manager with cached listings would."""

    def __init__(self, tools: list[ToolSpec]) -> None:
        self.tools = tuple(tools)

    def specs(self) -> tuple[ToolSpec, ...]:
        return self.tools

    async def call(self, call: ToolCall, arguments: Any) -> ToolResult:
        return ToolResult(call_id=call.id, name=call.name, content="ok")


def toolbox_figures(tools: list[ToolSpec], texts: list[str]) -> dict[str, Any]:
    """Per-request costs of a Toolbox over these tools: specs(), focus(), a tool_search call."""
    toolbox = Toolbox([Listing(tools)])
    toolbox.specs()
    fresh = []
    for _ in range(20):
        start = time.perf_counter()
        Toolbox([Listing(tools)]).specs()
        fresh.append(time.perf_counter() - start)
    cached, focus, search = [], [], []

    async def run() -> None:
        for text in texts:
            start = time.perf_counter()
            toolbox.specs()
            cached.append(time.perf_counter() - start)
            toolbox.reset_focus()
            start = time.perf_counter()
            toolbox.focus(text)
            focus.append(time.perf_counter() - start)
            call = ToolCall(id="s", name="tool_search")
            start = time.perf_counter()
            await toolbox.call(call, {"query": text})
            search.append(time.perf_counter() - start)

    asyncio.run(run())
    return {
        "specs_first": micro(fresh),
        "specs_unchanged": micro(cached),
        "focus": micro(focus),
        "tool_search_call": micro(search),
    }


BUILD_TARGET_MS = 100.0
QUERY_P95_TARGET_US = 200.0


def measure(*, tools: int = 3000, queries: int = 1000) -> dict[str, Any]:
    """Build (5 times) and query an index of ``tools`` tools with ``queries`` paraphrases."""
    specs, pairs = make_tools(tools)
    sample = random.Random(11).sample(pairs, min(queries, len(pairs)))
    ToolIndex(specs[:50]).search("warm up the import")  # import bm25s/numpy outside the timing

    builds = []
    for _ in range(5):
        start = time.perf_counter()
        index = ToolIndex(specs)
        builds.append(time.perf_counter() - start)

    for text in (q for _, q in sample[:50]):  # warm caches before timing
        index.search(text)
    timings, ranks = [], []
    for _, text in sample:
        start = time.perf_counter()
        found = index.search(text, k=5)
        timings.append(time.perf_counter() - start)
        ranks.append([spec.name for spec, _ in found])
    return {
        "tools": len(specs),
        "queries": len(sample),
        "build_ms": {
            "median": round(statistics.median(builds) * 1e3, 1),
            "max": round(max(builds) * 1e3, 1),
        },
        "query": micro(timings),
        "ranking": quality(ranks, sample),
        "tokenizers": compare_tokenizers(specs, sample),
        "toolbox": toolbox_figures(specs, [q for _, q in sample]),
        "targets": {"build_ms": BUILD_TARGET_MS, "query_p95_us": QUERY_P95_TARGET_US},
    }


def rows(figures: dict[str, Any]) -> list[Row]:
    """Item 5 of the issue."""
    build, query = figures["build_ms"], figures["query"]
    return [
        Row(
            section="5 tool index",
            metric=f"build over {figures['tools']:,} tools (median / max of 5)",
            value=f"{build['median']:.0f} / {build['max']:.0f} ms",
            target=f"≤{BUILD_TARGET_MS:.0f} ms",
            met=at_most(build["median"], BUILD_TARGET_MS),
        ),
        Row(
            section="5 tool index",
            metric=f"query p50 / p95 ({figures['queries']:,} queries; top-5 hit "
            f"{figures['ranking']['top5']:.0%})",
            value=f"{query['p50_us']:.0f} / {query['p95_us']:.0f} µs",
            target=f"p95 ≤{QUERY_P95_TARGET_US:.0f} µs",
            met=at_most(query["p95_us"], QUERY_P95_TARGET_US),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools", type=int, default=3000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures = measure(tools=args.tools, queries=args.queries)
    q = figures["query"]
    print(f"{figures['tools']} tools, {figures['queries']} queries")
    print(f"build: median {figures['build_ms']['median']} ms, max {figures['build_ms']['max']} ms")
    print(f"query: p50 {q['p50_us']} µs, p95 {q['p95_us']} µs, max {q['max_us']} µs")
    print(
        f"ranking: top-1 {figures['ranking']['top1']:.1%}, top-5 {figures['ranking']['top5']:.1%}"
    )
    for label, row in figures["tokenizers"].items():
        t = row["tokenize"]
        print(
            f"tokenizer {label}: p50 {t['p50_us']} µs, p95 {t['p95_us']} µs; "
            f"top-1 {row['top1']:.1%}, top-5 {row['top5']:.1%}"
        )
    for label, row in figures["toolbox"].items():
        print(f"toolbox {label}: p50 {row['p50_us']} µs, p95 {row['p95_us']} µs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
