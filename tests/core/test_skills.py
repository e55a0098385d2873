"""parse_skill against the Agent Skills spec, and the level-1 prompt block."""

from __future__ import annotations

import pytest

from collet_nb.core.skills import Skill, SkillProblem, parse_skill, skills_prompt

LOCATION = "/p/.collet/skills/pdf-tools/SKILL.md"


def skill_md(frontmatter: str, body: str = "# Steps\n\nDo it.\n") -> str:
    return f"---\n{frontmatter}\n---\n{body}"


def parse(frontmatter: str, *, folder: str = "pdf-tools", body: str = "") -> Skill | SkillProblem:
    return parse_skill(skill_md(frontmatter, body), folder=folder, location=LOCATION)


def problem(frontmatter: str, *, folder: str = "pdf-tools") -> SkillProblem:
    outcome = parse(frontmatter, folder=folder)
    assert isinstance(outcome, SkillProblem), outcome
    assert outcome.file == LOCATION
    return outcome


def test_a_minimal_skill_parses_into_its_name_description_body_and_location():
    text = skill_md("name: pdf-tools\ndescription: Fill PDF forms. Use for PDFs.", "\n# Steps\n")
    assert parse_skill(text, folder="pdf-tools", location=LOCATION) == Skill(
        name="pdf-tools",
        description="Fill PDF forms. Use for PDFs.",
        body="# Steps",
        location=LOCATION,
    )


def test_the_optional_fields_of_the_spec_are_kept():
    skill = parse(
        "name: pdf-tools\n"
        "description: PDFs.\n"
        "license: Apache-2.0\n"
        "compatibility: Requires poppler\n"
        "metadata:\n  author: example-org\n  version: 1.0\n"
        "allowed-tools: Bash(git:*)  Read\n"
    )
    assert isinstance(skill, Skill)
    assert skill.license == "Apache-2.0"
    assert skill.compatibility == "Requires poppler"
    assert dict(skill.metadata) == {"author": "example-org", "version": "1.0"}
    assert skill.allowed_tools == ("Bash(git:*)", "Read")


def test_allowed_tools_may_be_a_yaml_list_of_strings():
    skill = parse("name: pdf-tools\ndescription: d\nallowed-tools:\n  - Read\n  - Bash(jq:*)")
    assert isinstance(skill, Skill)
    assert skill.allowed_tools == ("Read", "Bash(jq:*)")


def test_plain_scalars_stay_strings_as_the_spec_wants():
    # PyYAML's default resolvers would make these an int, a bool, a date and None.
    skill = parse(
        "name: '2024'\ndescription: yes\nlicense: 2024-01-01\nmetadata:\n  n: 3\n  e: ~",
        folder="2024",
    )
    assert isinstance(skill, Skill)
    assert skill.description == "yes"
    assert skill.license == "2024-01-01"
    assert dict(skill.metadata) == {"n": "3", "e": "~"}
    assert isinstance(parse("name: 2024\ndescription: d", folder="2024"), Skill)


def test_crlf_line_ends_a_byte_order_mark_and_dashes_inside_values_are_fine():
    text = "\ufeff---\r\nname: pdf-tools\r\ndescription: a --- b\r\n---\r\nbody --- text\r\n---\r\n"
    skill = parse_skill(text, folder="pdf-tools", location=LOCATION)
    assert isinstance(skill, Skill)
    assert skill.description == "a --- b"
    assert skill.body == "body --- text\r\n---"


def test_a_multi_line_description_is_stripped():
    skill = parse("name: pdf-tools\ndescription: >\n  Fill forms.\n  Merge files.\n")
    assert isinstance(skill, Skill)
    assert skill.description == "Fill forms. Merge files."


@pytest.mark.parametrize("name", ["a", "a1", "x" * 64, "pdf-tools-2", "0-9"])
def test_names_of_lowercase_letters_digits_and_single_inner_hyphens_are_valid(name):
    assert isinstance(parse(f"name: {name}\ndescription: d", folder=name), Skill)


@pytest.mark.parametrize(
    ("name", "hint"),
    [
        ("PDF-tools", "'D', 'F', 'P'"),
        ("pdf_tools", "'_'"),
        ("'pdf tools'", "' '"),
        ("pdf.tools", "'.'"),
        ("pdé", "'é'"),
        ("-pdf", "start or end with '-'"),
        ("pdf-", "start or end with '-'"),
        ("pdf--tools", "'--'"),
        ("x" * 65, "65 characters"),
        ("''", "0 characters"),
        ("[a, b]", "not a list"),
    ],
)
def test_names_breaking_the_spec_are_problems_of_the_name(name, hint):
    found = problem(f"name: {name}\ndescription: d", folder=name.strip("'"))
    assert found.field == "name"
    assert hint in found.rule


def test_a_name_must_equal_its_folder():
    found = problem("name: pdf-tools\ndescription: d", folder="pdf")
    assert found.field == "name"
    assert "'pdf'" in found.rule


@pytest.mark.parametrize(
    ("frontmatter", "hint"),
    [
        ("name: pdf-tools", "needs a 'description'"),
        ("name: pdf-tools\ndescription:", "empty"),
        ("name: pdf-tools\ndescription: '   '", "empty"),
        ("name: pdf-tools\ndescription: " + "d" * 1025, "1,025 characters"),
        ("name: pdf-tools\ndescription:\n  a: b", "not a mapping"),
    ],
)
def test_a_missing_empty_too_long_or_non_text_description_is_a_problem(frontmatter, hint):
    found = problem(frontmatter)
    assert found.field == "description"
    assert hint in found.rule


def test_a_description_of_1024_characters_is_valid():
    assert isinstance(parse("name: pdf-tools\ndescription: " + "d" * 1024), Skill)


def test_a_missing_name_is_a_problem_of_the_name():
    assert problem("description: d").field == "name"


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("# Just Markdown\n", "must start with a '---' line"),
        ("", "must start with a '---' line"),
        ("--- \nname: a\n", "never closed"),
        ("---\n---\n", "not nothing"),
        ("---\n- a\n- b\n---\n", "not a list"),
        ("---\njust a sentence\n---\n", "not a string"),
        ("---\nname: [pdf\ndescription: d\n---\n", "not valid YAML"),
        ("---\nname: a\nname: b\ndescription: d\n---\n", "duplicate key 'name' at line 3"),
        ("---\nname: !!python/object:os.system x\n---\n", "not valid YAML"),
    ],
)
def test_frontmatter_that_is_missing_unclosed_broken_or_not_a_mapping_is_a_problem(text, hint):
    found = parse_skill(text, folder="a", location=LOCATION)
    assert isinstance(found, SkillProblem)
    assert found.field == "frontmatter"
    assert hint in found.rule


def test_fields_the_spec_does_not_define_are_refused_as_skills_ref_does():
    found = problem("name: pdf-tools\ndescription: d\nversion: 1\nauthor: me")
    assert found.field == "frontmatter"
    assert "'author', 'version'" in found.rule
    assert "metadata" in found.rule


@pytest.mark.parametrize(
    ("extra", "field", "hint"),
    [
        ("compatibility:", "compatibility", "empty"),
        ("compatibility: " + "c" * 501, "compatibility", "501 characters"),
        ("compatibility:\n  - a", "compatibility", "not a list"),
        ("metadata: flat", "metadata", "not a string"),
        ("metadata:\n  a:\n    b: c", "metadata", "'a' holds a mapping"),
        ("license:\n  name: MIT", "license", "not a mapping"),
        ("allowed-tools:\n  a: b", "allowed-tools", "not a mapping"),
        ("allowed-tools:\n  - [a]", "allowed-tools", "not a list"),
    ],
)
def test_optional_fields_of_the_wrong_shape_are_problems_of_that_field(extra, field, hint):
    found = problem(f"name: pdf-tools\ndescription: d\n{extra}")
    assert found.field == field
    assert hint in found.rule


def test_the_prompt_block_is_empty_without_skills():
    assert skills_prompt([]) == ""


def test_the_prompt_block_lists_each_skill_sorted_escaped_and_says_to_call_the_skill_tool():
    skills = [
        Skill(name="zeta", description="Z <tags> & more", body="secret body", location="/z"),
        Skill(name="alpha", description="A first", body="", location="/a"),
    ]
    block = skills_prompt(skills)
    assert "call the `skill` tool" in block
    assert block.index("<name>alpha</name>") < block.index("<name>zeta</name>")
    assert "<description>Z &lt;tags&gt; &amp; more</description>" in block
    assert "secret body" not in block  # level 2 stays out of the prompt
    assert "/z" not in block
