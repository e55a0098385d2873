"""The README's table of settings, made from their one declaration in collet_nb/core/settings.py.

Each row is a setting: its environment variable, its ``config.toml`` key (also its
``c.Collet.*`` trait), its default as users see it and what it means. The table sits in
README.md between two marker comments; nothing else in the README is touched.

    .venv/bin/python scripts/settings_table.py            # rewrite the table in README.md
    .venv/bin/python scripts/settings_table.py --check    # exit 1 when the table is not current
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

from collet_nb.core.settings import SETTINGS, SettingSpec

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SCRIPT = "scripts/settings_table.py"
COMMAND = f".venv/bin/python {SCRIPT}"
BEGIN = (
    f"<!-- settings table: made by {SCRIPT} from collet_nb/core/settings.py; "
    "edit the settings there, then run the script -->"
)
END = "<!-- end of settings table -->"
HEADER = (
    "| variable | `config.toml` key and `c.Collet` trait | default | meaning |",
    "|---|---|---|---|",
)


class TableError(Exception):
    """The README has no place for the table (its markers are missing or out of order)."""


def _cell(text: str) -> str:
    """``text`` fit for a Markdown table cell (a ``|`` would end the cell)."""
    return text.replace("|", "\\|")


def row(spec: SettingSpec) -> str:
    """One setting's row of the table."""
    meaning = spec.help
    if spec.choices:
        meaning += ": " + " | ".join(f"`{choice}`" for choice in spec.choices)
    cells = (f"`{spec.env}`", f"`{spec.name}`", spec.shown, meaning)
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def table(specs: tuple[SettingSpec, ...] = SETTINGS) -> str:
    """The whole table between its markers (blank lines around it, no final newline)."""
    return "\n".join([BEGIN, "", *HEADER, *(row(spec) for spec in specs), "", END])


def updated(text: str, specs: tuple[SettingSpec, ...] = SETTINGS) -> str:
    """``text`` (a README) with the table between its markers replaced by a fresh one.

    Raises:
        TableError: when the markers are missing, doubled or out of order.
    """
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start or text.count(BEGIN) != 1 or text.count(END) != 1:
        raise TableError(
            f"README.md must hold the settings table between the lines\n  {BEGIN}\n  {END}"
        )
    return text[:start] + table(specs) + text[end + len(END) :]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    try:
        fresh = updated(current)
    except TableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    shown = README.relative_to(ROOT) if README.is_relative_to(ROOT) else README
    if args.check:
        if fresh != current:
            said = difflib.unified_diff(
                current.splitlines(), fresh.splitlines(), str(shown), "from the settings", n=0
            )
            print(f"the settings table in {shown} is not current:", file=sys.stderr)
            print(*(f"  {line.rstrip()}" for line in said), sep="\n", file=sys.stderr)
            print(f"regenerate it with: {COMMAND}", file=sys.stderr)
            return 1
        print(f"the settings table in {shown} is current ({len(SETTINGS)} settings)")
        return 0
    if fresh != current:
        README.write_text(fresh, encoding="utf-8", newline="\n")
    print(f"{shown}: {'written' if fresh != current else 'unchanged'} ({len(SETTINGS)} settings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
