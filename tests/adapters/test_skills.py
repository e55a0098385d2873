"""Skill discovery on disk, the ``skill`` tool, and agreement with the skills-ref validator."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skills_ref.validator import validate

from collet_nb.adapters.skills import SKILL_TOOL, SkillCatalog, SkillTools, discover_skills
from collet_nb.core.chat import ToolCall, ToolResult
from collet_nb.core.ports import ToolPort
from collet_nb.core.skills import Skill, parse_skill


@dataclass(frozen=True)
class Places:
    project: Path
    home: Path
    outside: Path

    @property
    def collet(self) -> Path:
        return self.project / ".collet" / "skills"

    @property
    def claude(self) -> Path:
        return self.project / ".claude" / "skills"

    @property
    def user(self) -> Path:
        return self.home / "skills"


@pytest.fixture
def places(tmp_path: Path) -> Places:
    root = tmp_path.resolve()
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP SECRET\n")
    return Places(project=root / "proj", home=root / "home", outside=outside)


def write_skill(
    root: Path, folder: str, *, name: str | None = None, description: str = "Does things.", body=""
) -> Path:
    path = root / folder / "SKILL.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nname: {name or folder}\ndescription: {description}\n---\n{body}", encoding="utf-8"
    )
    return path


def discover(places: Places) -> SkillCatalog:
    return discover_skills(places.project, places.home)


def run(tools: SkillTools, tool: str = "skill", **arguments: Any) -> ToolResult:
    call = ToolCall(id="call-1", name=tool, arguments=json.dumps(arguments))
    return asyncio.run(tools.call(call, arguments))


# Discovery


def test_skills_are_found_in_the_three_folders(places):
    write_skill(places.collet, "one")
    write_skill(places.claude, "two")
    write_skill(places.user, "three")
    catalog = discover(places)
    assert catalog.names() == ("one", "three", "two")
    assert catalog.problems == ()
    assert catalog.get("three").location == str(places.user / "three" / "SKILL.md")


def test_no_folders_means_an_empty_catalog_whose_description_says_where_to_add_one(places):
    catalog = discover(places)
    assert catalog.skills == ()
    assert catalog.prompt() == ""
    text = catalog.describe()
    assert "No skills found" in text
    assert str(places.collet / "NAME" / "SKILL.md") in text


def test_the_project_collet_folder_wins_then_claude_then_home_and_the_losers_are_noted(places):
    write_skill(places.user, "dup", description="from home")
    write_skill(places.claude, "dup", description="from claude")
    write_skill(places.collet, "dup", description="from collet")
    write_skill(places.user, "mine", description="only at home")
    catalog = discover(places)
    assert catalog.get("dup").description == "from collet"
    assert catalog.get("mine").description == "only at home"
    shadowed = {p.file for p in catalog.problems}
    assert shadowed == {
        str(places.claude / "dup" / "SKILL.md"),
        str(places.user / "dup" / "SKILL.md"),
    }
    assert {p.field for p in catalog.problems} == {"name"}
    assert all(str(places.collet / "dup") in p.rule for p in catalog.problems)


def test_claude_skills_win_over_home_skills(places):
    write_skill(places.user, "dup", description="from home")
    write_skill(places.claude, "dup", description="from claude")
    assert discover(places).get("dup").description == "from claude"


def test_an_invalid_skill_is_skipped_logged_and_kept_as_a_problem(places, caplog):
    bad = write_skill(places.collet, "Bad-Name")
    write_skill(places.collet, "good")
    with caplog.at_level(logging.WARNING, logger="collet_nb"):
        catalog = discover(places)
    assert catalog.names() == ("good",)
    [found] = catalog.problems
    assert (found.file, found.field) == (str(bad), "name")
    [record] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert str(bad) in record.getMessage()
    assert found.rule in record.getMessage()


def test_a_skill_whose_name_differs_from_its_folder_is_skipped(places):
    write_skill(places.claude, "folder", name="other")
    [found] = discover(places).problems
    assert found.field == "name"
    assert "'folder'" in found.rule


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (b"---\nname: bad\ndescription: caf\xe9\n---\n", "not UTF-8 text (byte 0xe9 at offset 30)"),
        (b"---\nname: bad\ndescription: \x00\n---\n", "binary"),
        (b"---\nname: bad\n" + b"x" * (256 * 1024), "over the 262,144-byte cap"),
    ],
)
def test_non_utf8_binary_and_huge_skill_files_are_problems_not_crashes(places, content, hint):
    path = places.collet / "bad" / "SKILL.md"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    catalog = discover(places)
    assert catalog.skills == ()
    [found] = catalog.problems
    assert (found.file, found.field) == (str(path), "file")
    assert hint in found.rule


def test_unreadable_skill_files_are_problems_not_crashes_or_hangs(places):
    # Running as root defeats chmod, so use what even root cannot read as a text file.
    (places.collet / "folder" / "SKILL.md").mkdir(parents=True)
    (places.collet / "fifo").mkdir(parents=True)
    os.mkfifo(places.collet / "fifo" / "SKILL.md")
    (places.collet / "loop").mkdir()
    (places.collet / "loop" / "SKILL.md").symlink_to(places.collet / "loop" / "SKILL.md")
    rules = {Path(p.file).parent.name: p.rule for p in discover(places).problems}
    assert set(rules) == {"folder", "fifo", "loop"}
    assert "is a folder" in rules["folder"]
    assert "not a regular file" in rules["fifo"]
    assert "cannot be read" in rules["loop"]


def test_a_folder_without_skill_md_is_a_problem_and_hidden_entries_are_ignored(places):
    (places.collet / "notes").mkdir(parents=True)
    (places.collet / ".git").mkdir()
    (places.collet / "README.md").write_text("not a skill")
    [found] = discover(places).problems
    assert found.file == str(places.collet / "notes" / "SKILL.md")
    assert "has no SKILL.md" in found.rule


def test_a_symlinked_skill_folder_counts_under_its_link_name(places):
    write_skill(places.outside, "shared")
    places.user.mkdir(parents=True)
    (places.user / "shared").symlink_to(places.outside / "shared")
    assert discover(places).names() == ("shared",)


def test_describe_lists_each_skill_with_its_first_sentence_and_origin_then_the_skipped(places):
    write_skill(places.collet, "pdf", description="Fill PDF forms. Use it for any PDF.")
    write_skill(places.user, "Nope")
    text = discover(places).describe()
    lines = text.splitlines()
    assert lines[0] == "Skills (1):"
    assert lines[1] == f"  pdf — Fill PDF forms. ({places.collet / 'pdf' / 'SKILL.md'})"
    assert lines[2] == "Skipped (1):"
    assert lines[3].startswith(f"  {places.user / 'Nope' / 'SKILL.md'}: name 'Nope'")


# The skill tool


@pytest.fixture
def pdf(places) -> SkillTools:
    write_skill(places.collet, "pdf", description="PDFs.", body="# Steps\nRun scripts/fill.py\n")
    folder = places.collet / "pdf"
    (folder / "scripts").mkdir()
    (folder / "scripts" / "fill.py").write_text("print('fill')\n")
    (folder / "references").mkdir()
    (folder / "references" / "FORMS.md").write_text("# Forms\n")
    (folder / ".hidden").write_text("x")
    (folder / "scripts" / "__pycache__").mkdir()
    (folder / "scripts" / "__pycache__" / "fill.pyc").write_bytes(b"\0")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    (folder / "leak.txt").symlink_to(places.outside / "secret.txt")
    (folder / "inner.md").symlink_to(folder / "references" / "FORMS.md")
    write_skill(places.user, "other")
    return SkillTools(discover(places))


def test_the_skill_tool_is_read_only_and_satisfies_the_tool_port(pdf):
    port: ToolPort = pdf
    assert port.specs() == (SKILL_TOOL,)
    assert SKILL_TOOL.read_only
    assert SKILL_TOOL.parameters["required"] == ["name"]
    assert set(SKILL_TOOL.parameters["properties"]) == {"name", "file"}


def test_no_tool_is_offered_while_there_are_no_skills():
    tools = SkillTools(SkillCatalog())
    assert tools.specs() == ()
    result = run(tools, name="pdf")
    assert result.is_error
    assert "no skills are installed" in result.content


def test_loading_a_skill_returns_its_body_folder_and_other_files(pdf, places):
    result = run(pdf, **{"name": "pdf"})
    assert not result.is_error
    assert (result.call_id, result.name) == ("call-1", "skill")
    lines = result.content.splitlines()
    assert lines[0] == f"Skill 'pdf' (folder: {places.collet / 'pdf'})"
    assert "# Steps\nRun scripts/fill.py" in result.content
    listed = [line[2:] for line in lines if line.startswith("- ")]
    assert listed == ["inner.md", "logo.png", "references/FORMS.md", "scripts/fill.py"]


def test_a_skill_with_no_other_files_says_so(pdf):
    assert "holds no other files" in run(pdf, **{"name": "other"}).content


def test_the_file_list_is_capped(places):
    write_skill(places.collet, "many")
    for index in range(5):
        (places.collet / "many" / f"f{index}.md").write_text("x")
    result = run(SkillTools(discover(places), listed_files=3), **{"name": "many"})
    listed = [line for line in result.content.splitlines() if line.startswith("- ")]
    assert listed == [
        "- f0.md",
        "- f1.md",
        "- f2.md",
        "- … more files, not listed (only the first 3 are)",
    ]


def test_a_file_of_the_skill_is_returned_as_text(pdf):
    result = run(pdf, **{"name": "pdf", "file": "scripts/fill.py"})
    assert (result.is_error, result.content) == (False, "print('fill')\n")
    assert run(pdf, **{"name": "pdf", "file": "inner.md"}).content == "# Forms\n"
    assert run(pdf, **{"name": "pdf", "file": "scripts/../SKILL.md"}).content.startswith("---")


@pytest.mark.parametrize(
    "file", ["../other/SKILL.md", "../../../outside/secret.txt", "leak.txt", "/etc/passwd"]
)
def test_a_file_outside_the_skill_folder_is_refused(pdf, file):
    result = run(pdf, **{"name": "pdf", "file": file})
    assert result.is_error
    assert "outside the folder of skill 'pdf'" in result.content
    assert "TOP SECRET" not in result.content


@pytest.mark.parametrize(
    ("file", "hint"),
    [
        ("logo.png", "binary"),
        ("scripts", "is a folder"),
        ("", "is a folder"),
        ("missing.md", "does not exist"),
        ("a\0b", "NUL byte"),
    ],
)
def test_binary_folders_and_missing_files_are_refused(pdf, file, hint):
    result = run(pdf, **{"name": "pdf", "file": file})
    assert result.is_error
    assert hint in result.content


def test_a_file_over_the_cap_is_refused(places):
    write_skill(places.collet, "big")
    (places.collet / "big" / "data.txt").write_text("x" * 101)
    result = run(
        SkillTools(discover(places), file_bytes=100), **{"name": "big", "file": "data.txt"}
    )
    assert result.is_error
    assert "101 bytes, over the 100-byte cap" in result.content


def test_an_unknown_skill_is_an_error_listing_the_valid_names(pdf):
    result = run(pdf, **{"name": "word"})
    assert result.is_error
    assert "unknown skill 'word'; the skills are other, pdf" in result.content


def test_bad_arguments_and_other_tool_names_are_error_results(pdf):
    assert "missing required argument 'name'" in run(pdf).content
    assert "unknown argument 'path'" in run(pdf, **{"name": "pdf", "path": "x"}).content
    assert run(pdf, "file_read", name="pdf").is_error


def test_the_catalog_can_be_replaced_between_calls(places):
    catalog = SkillCatalog()
    tools = SkillTools(lambda: catalog)
    assert tools.specs() == ()
    write_skill(places.collet, "late")
    catalog = discover(places)
    assert tools.specs() == (SKILL_TOOL,)
    assert not run(tools, **{"name": "late"}).is_error
    tools.catalog = SkillCatalog()
    assert tools.specs() == ()


def test_caps_below_one_are_refused():
    with pytest.raises(ValueError, match="at least 1"):
        SkillTools(SkillCatalog(), listed_files=0)


def test_a_skills_path_that_is_a_file_is_ignored(places):
    places.claude.parent.mkdir(parents=True)
    places.claude.write_text("not a folder")
    write_skill(places.collet, "one")
    assert discover(places).names() == ("one",)


# Agreement with skills-ref (the reference validator)


def agrees_with_skills_ref(folder: str, text: str) -> tuple[bool, bool, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / folder
        path.mkdir()
        (path / "SKILL.md").write_text(text, encoding="utf-8")
        errors = validate(path)
    ours = parse_skill(text, folder=folder, location="SKILL.md")
    return isinstance(ours, Skill), not errors, errors


def quoted(text: str) -> str:
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar


valid_names = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True)
odd_names = st.one_of(
    st.sampled_from(["x" * 64, "x" * 65, "-a", "a-", "a--b", "A", "a_b", "a b", ""]),
    st.text(alphabet="abz09-AZ_. ", min_size=0, max_size=70),
)
descriptions = st.one_of(
    # '---' in a value is a known disagreement (skills-ref splits there), tested on its own.
    st.text(alphabet="abc XYZ,.:#-'", min_size=1, max_size=1100)
    .map(str.strip)
    .filter(lambda d: "---" not in d),
    st.sampled_from([None, "", "   ", "d" * 1024, "d" * 1025]),
)
flat_metadata = st.dictionaries(
    st.text(alphabet="abk", min_size=1, max_size=5), st.text(alphabet="v1.", max_size=5), max_size=3
)


@st.composite
def frontmatters(draw: st.DrawFn) -> tuple[str, str]:
    """A folder name and a SKILL.md whose fields come in any order."""
    name = draw(valid_names if draw(st.booleans()) else odd_names)
    usable = name.strip(" .") != "" and "/" not in name
    folder = name if usable and draw(st.integers(0, 4)) else draw(st.sampled_from(["pdf", "x"]))
    fields = [f"name: {quoted(name)}"]
    description = draw(descriptions) if draw(st.integers(0, 3)) else "Does things."
    if description is not None:
        fields.append(f"description: {quoted(description)}")
    if draw(st.booleans()):
        fields.append(f"license: {quoted(draw(st.sampled_from(['MIT', 'see LICENSE.txt'])))}")
    compatibility = draw(st.one_of(st.none(), st.integers(1, 600)))
    if compatibility is not None:
        fields.append(f"compatibility: {quoted('c' * compatibility)}")
    metadata = draw(st.one_of(st.none(), flat_metadata.filter(bool)))
    if metadata:
        fields.append(
            "metadata:" + "".join(f"\n  {quoted(k)}: {quoted(v)}" for k, v in metadata.items())
        )
    tools = draw(st.lists(st.sampled_from(["Read", "Bash(git:*)"])))
    if tools:
        fields.append("allowed-tools:" + "".join(f"\n  - {quoted(tool)}" for tool in tools))
    if draw(st.integers(0, 4)) == 0:
        fields.append(f"{draw(st.sampled_from(['version', 'author', 'tags']))}: x")
    order = draw(st.permutations(fields))
    return folder, "---\n" + "\n".join(order) + "\n---\n# Body\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frontmatters())
def test_our_accept_or_reject_decision_equals_skills_refs_on_generated_frontmatter(case):
    folder, text = case
    ours, theirs, errors = agrees_with_skills_ref(folder, text)
    assert ours == theirs, (text, folder, errors)


@pytest.mark.parametrize(
    ("folder", "text"),
    [
        ("pdf", "---\nname: pdf\ndescription: d\n---\n"),
        ("pdf", "---\nname: pdf\ndescription: d\nmetadata:\n  v: '1.0'\n---\nbody"),
        ("pdf", "---\nname: pdf\n---\n"),
        ("pdf", "---\ndescription: d\n---\n"),
        ("pdf", "# no frontmatter\n"),
        ("pdf", "---\nname: pdf\ndescription: d\n"),
        ("pdf", "---\n- a\n---\n"),
        ("pdf", "---\nname: pdf\nname: pdf\ndescription: d\n---\n"),
        ("pdf", "---\nname: pdf\ndescription: d\n  bad: indent\n---\n"),
        ("pdf", "---\nname: pdf\ndescription: d\nextra: x\n---\n"),
        ("2024", "---\nname: 2024\ndescription: yes\n---\n"),
        ("pdf", "---\nname: PDF\ndescription: d\n---\n"),
    ],
)
def test_our_decision_equals_skills_refs_on_a_table_of_files(folder, text):
    ours, theirs, errors = agrees_with_skills_ref(folder, text)
    assert ours == theirs, errors


@pytest.mark.parametrize(
    ("folder", "text"),
    [
        # The spec: "lowercase letters (a-z)"; skills-ref takes any Unicode letter, after NFKC.
        ("café", "---\nname: café\ndescription: d\n---\n"),
        ("ｐｄｆ", "---\nname: ｐｄｆ\ndescription: d\n---\n"),
        # The spec: compatibility "must be 1-500 characters if provided"; skills-ref takes "".
        ("pdf", "---\nname: pdf\ndescription: d\ncompatibility: ''\n---\n"),
        # The spec: metadata maps strings to strings; skills-ref takes any value.
        ("pdf", "---\nname: pdf\ndescription: d\nmetadata:\n  a:\n    b: c\n---\n"),
        ("pdf", "---\nname: pdf\ndescription: d\nmetadata: text\n---\n"),
        # The spec: names use only a-z, 0-9 and '-'; skills-ref strips spaces around the name.
        ("pdf", "---\nname: ' pdf'\ndescription: d\n---\n"),
    ],
)
def test_where_skills_ref_is_laxer_than_the_spec_we_follow_the_spec(folder, text):
    ours, theirs, _ = agrees_with_skills_ref(folder, text)
    assert (ours, theirs) == (False, True)


@pytest.mark.parametrize(
    "text",
    [
        # Frontmatter is YAML: flow style is valid YAML, which skills-ref's strictyaml refuses.
        "---\nname: pdf\ndescription: d\nallowed-tools: [Read, Grep]\n---\n",
        "---\nname: pdf\ndescription: d\nmetadata: {a: b}\n---\n",
        # skills-ref splits on any '---', even inside a value (here it cuts a quoted string).
        '---\nname: pdf\ndescription: "a --- b"\n---\n',
    ],
)
def test_where_skills_ref_is_stricter_than_the_spec_we_follow_the_spec(text):
    ours, theirs, _ = agrees_with_skills_ref("pdf", text)
    assert (ours, theirs) == (True, False)
