"""The BM25 tool index: what it indexes, how it ranks, when it finds nothing."""

from __future__ import annotations

import subprocess
import sys

from collet_nb.adapters.tools.files import FILE_EDIT, FILE_READ, FILE_WRITE
from collet_nb.adapters.tools.index import ToolIndex, document, fingerprint, tokenize
from collet_nb.adapters.tools.search import SEARCH
from collet_nb.adapters.tools.shell import BASH
from collet_nb.core.chat import ToolSpec
from tests.support.stand_ins import string_tool

spec = string_tool


# About fifty tools as a session with a few MCP servers would see them.
CATALOG = (
    FILE_READ,
    FILE_WRITE,
    FILE_EDIT,
    BASH,
    SEARCH,
    spec("skill", "Load a skill's instructions by name", name="The skill's name"),
    spec("kernel_vars", "Summaries of the notebook's variables", names="Variable names"),
    spec("notebook_cells", "Recent cell inputs and outputs of the notebook", last="How many"),
    spec("propose_cell", "Insert a new code cell for the user to run", code="Python code"),
    spec(
        "mcp__time__get_current_time",
        "Get the current time in a specific timezone",
        timezone="IANA timezone name, e.g. Europe/Paris",
    ),
    spec(
        "mcp__time__convert_time",
        "Convert a time between two zones",
        source_timezone="Source IANA zone",
        time="Time as HH:MM",
        target_timezone="Target IANA zone",
    ),
    spec("mcp__git__git_status", "Shows the working tree status", repo_path="Repository path"),
    spec("mcp__git__git_diff_unstaged", "Shows changes not yet staged", repo_path="Repository"),
    spec("mcp__git__git_diff_staged", "Shows changes staged for commit", repo_path="Repository"),
    spec("mcp__git__git_commit", "Records changes to the repository", message="Commit message"),
    spec("mcp__git__git_add", "Adds file contents to the staging area", files="Paths to add"),
    spec("mcp__git__git_reset", "Unstages all staged changes", repo_path="Repository path"),
    spec("mcp__git__git_log", "Shows the commit logs", max_count="How many commits"),
    spec("mcp__git__git_create_branch", "Creates a new branch", branch_name="New branch"),
    spec("mcp__git__git_checkout", "Switches branches", branch_name="Branch to check out"),
    spec("mcp__git__git_show", "Shows the contents of a commit", revision="Commit hash"),
    spec("mcp__github__create_issue", "Open a new issue in a GitHub repository", title="Title"),
    spec("mcp__github__list_issues", "List issues of a GitHub repository", state="open|closed"),
    spec("mcp__github__create_pull_request", "Open a pull request", head="Branch", base="Base"),
    spec("mcp__github__merge_pull_request", "Merge a pull request", pull_number="PR number"),
    spec("mcp__github__search_code", "Search code across GitHub", query="Search query"),
    spec("mcp__github__get_file_contents", "Get a file from a GitHub repository", path="Path"),
    spec("mcp__fetch__fetch", "Fetches a URL from the internet as markdown", url="The URL"),
    spec("mcp__slack__post_message", "Post a message to a Slack channel", channel_id="Channel"),
    spec("mcp__slack__list_channels", "List the channels of the Slack workspace"),
    spec("mcp__slack__get_thread_replies", "Get the replies in a thread", thread_ts="Thread"),
    spec("mcp__postgres__query", "Run a read-only SQL query", sql="The SQL statement"),
    spec("mcp__postgres__list_tables", "List the tables of the database", schema="Schema name"),
    spec("mcp__sqlite__describe_table", "Describe a table's columns", table_name="Table"),
    spec("mcp__memory__create_entities", "Create entities in the knowledge graph"),
    spec("mcp__memory__search_nodes", "Search the knowledge graph's nodes", query="Words"),
    spec("mcp__puppeteer__navigate", "Navigate the browser to a URL", url="The URL"),
    spec("mcp__puppeteer__screenshot", "Take a screenshot of the page", selector="CSS selector"),
    spec("mcp__puppeteer__click", "Click an element on the page", selector="CSS selector"),
    spec("mcp__brave__web_search", "Search the web with Brave", query="Search terms"),
    spec("mcp__sentry__get_issue", "Get a Sentry error issue and its stack trace", issue_id="Id"),
    spec("mcp__linear__create_ticket", "Create a Linear ticket", title="Title", team="Team"),
    spec("mcp__calendar__create_event", "Schedule an event", attendees="Emails of the guests"),
    spec("mcp__calendar__list_events", "List upcoming events", days="How many days ahead"),
    spec("mcp__weather__forecast", "Weather forecast for a city", city="City name"),
    spec("mcp__docker__list_containers", "List running Docker containers"),
    spec("mcp__docker__logs", "Show a container's logs", container="Container id"),
    spec("mcp__kubernetes__get_pods", "List pods in a namespace", namespace="Namespace"),
    spec("mcp__s3__upload_object", "Upload a file to an S3 bucket", bucket="Bucket", key="Key"),
    spec("mcp__stripe__create_refund", "Refund a Stripe payment", payment_id="Payment"),
)


def names(found: list[tuple[ToolSpec, float]]) -> list[str]:
    return [s.name for s, _ in found]


def test_a_question_about_the_time_in_a_timezone_ranks_the_time_tool_first():
    assert len(CATALOG) >= 50
    index = ToolIndex(CATALOG)
    found = index.search("what is the current time in a timezone?")
    assert names(found)[0] == "mcp__time__get_current_time"
    assert "mcp__time__convert_time" in names(found)


def test_realistic_requests_find_their_tool_first():
    index = ToolIndex(CATALOG)
    expected = {
        "read a file": "file_read",
        "commit my changes to git": "mcp__git__git_commit",
        "open a pull request on GitHub": "mcp__github__create_pull_request",
        "post to the slack channel": "mcp__slack__post_message",
        "take a screenshot of the page": "mcp__puppeteer__screenshot",
        "run an SQL query": "mcp__postgres__query",
    }
    for query, tool in expected.items():
        assert names(index.search(query, k=1)) == [tool], query


def test_parameter_names_and_their_descriptions_are_searchable():
    index = ToolIndex(CATALOG)
    # Neither word appears in any tool's name or description, only in its parameters.
    assert names(index.search("attendees", k=1)) == ["mcp__calendar__create_event"]
    assert names(index.search("guests", k=1)) == ["mcp__calendar__create_event"]
    assert names(index.search("branch_name"))[:2] == [
        "mcp__git__git_create_branch",
        "mcp__git__git_checkout",
    ]


def test_names_split_on_underscores_dashes_and_camel_case():
    assert tokenize("mcp__git__git_log") == ["mcp", "git", "git", "log"]
    assert tokenize("file-read") == ["file", "read"]
    assert tokenize("getCurrentTime") == ["getcurrenttime", "get", "current", "time"]
    assert tokenize("HTTPServer on GitLab") == [
        "httpserver",
        "http",
        "server",
        "gitlab",
        "git",
        "lab",
    ]


def test_stop_words_and_single_letters_are_not_tokens():
    assert tokenize("What is the time in a zone, x?") == ["time", "zone"]


def test_an_empty_or_stop_word_only_query_finds_nothing():
    index = ToolIndex(CATALOG)
    for query in ("", "   ", "the of and a", "?!", "zzzunknownword"):
        assert index.search(query) == [], query


def test_only_tools_sharing_a_word_with_the_query_are_returned_best_first():
    index = ToolIndex(CATALOG)
    found = index.search("screenshot", k=10)
    assert names(found) == ["mcp__puppeteer__screenshot"]
    many = index.search("list the issues", k=50)
    scores = [score for _, score in many]
    assert all(score > 0 for score in scores)
    assert scores == sorted(scores, reverse=True)
    assert all({"list", "issues"} & set(document(s)) for s, _ in many)


def test_results_are_capped_at_k():
    index = ToolIndex(CATALOG)
    assert len(index.search("git", k=3)) == 3
    assert len(index.search("git", k=0)) == 0
    # The ten git tools, and the five GitHub ones ("GitHub" gives github, git and hub).
    assert len(index.search("git", k=100)) == 15


def test_equal_scores_keep_the_order_the_tools_were_given_in():
    twins = [spec(f"report_{n}", "Build a sales report") for n in ("one", "two", "three")]
    assert names(ToolIndex(twins).search("sales report")) == [
        "report_one",
        "report_two",
        "report_three",
    ]
    twins.reverse()
    assert names(ToolIndex(twins).search("sales report")) == [
        "report_three",
        "report_two",
        "report_one",
    ]
    # The cut at k keeps the earliest of tied tools too.
    many = [
        spec(f"report_{n}", "Build a sales report") for n in ("a1", "b2", "c3", "d4", "e5", "f6")
    ]
    assert names(ToolIndex(many).search("sales", k=2)) == ["report_a1", "report_b2"]


def test_where_restricts_the_candidates():
    index = ToolIndex(CATALOG)
    found = index.search("file", k=10, where=lambda s: s.name.startswith("mcp__"))
    assert found
    assert all(s.name.startswith("mcp__") for s, _ in found)
    assert "file_read" in names(index.search("file", k=10))
    assert index.search("file", where=lambda s: False) == []
    for n in range(10):  # many predicates: the remembered answers are dropped, not wrong
        assert len(index.search("file", k=50, where=lambda s, n=n: len(s.name) > n)) >= 1
    assert names(index.search("file", k=10, where=lambda s: s.name == "file_read")) == ["file_read"]


def test_an_index_of_no_tools_or_of_wordless_tools_finds_nothing():
    assert ToolIndex([]).search("time") == []
    assert ToolIndex([spec("x", "")]).search("x") == []
    assert len(ToolIndex([spec("x", "")])) == 1


def test_odd_parameter_schemas_still_index_the_parameter_names():
    odd = ToolSpec(name="odd", description="", parameters={"properties": {"zone": "not a schema"}})
    listless = ToolSpec(name="flat", description="", parameters={"properties": ["zone"]})
    assert names(ToolIndex([listless, odd]).search("zone")) == ["odd"]


def test_the_fingerprint_follows_names_and_descriptions_in_order():
    a, b = spec("alpha", "first tool"), spec("beta", "second tool")
    assert fingerprint([a, b]) == fingerprint([spec("alpha", "first tool"), b])
    assert fingerprint([a, b]) != fingerprint([b, a])
    assert fingerprint([a, b]) != fingerprint([a, spec("beta", "changed")])
    assert fingerprint([a, b]) != fingerprint([a])
    assert ToolIndex([a, b]).fingerprint == fingerprint([a, b])


def test_the_index_module_loads_bm25s_only_when_an_index_is_built():
    code = (
        "import sys\n"
        "from collet_nb.adapters.tools.index import ToolIndex\n"
        "from collet_nb.adapters.tools.toolbox import Toolbox\n"
        "Toolbox([]).specs(); ToolIndex([])\n"
        "assert 'bm25s' not in sys.modules\n"
        "from collet_nb.adapters.tools.files import FILE_READ\n"
        "ToolIndex([FILE_READ]).search('read')\n"
        "assert 'bm25s' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
