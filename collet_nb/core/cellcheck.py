"""What a proposed cell would do to the notebook's variables, read from its syntax alone: the
module-level names it binds, deletes or changes in place, set against the names that exist.

Nothing is run. Function and class bodies count only through their ``global`` declarations.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Effect(StrEnum):
    """What a statement does to a module-level name."""

    BIND = "bind"
    DELETE = "delete"
    MODIFY = "modify"


@dataclass(frozen=True, kw_only=True)
class CellCheck:
    """The effects of a cell on the notebook's names.

    Attributes:
        binds: every module-level name the code may bind, in order of first appearance.
        deletes: every module-level name it may delete (``del``, the end of ``except … as``).
        overwritten: existing names whose last effect in the code is a new binding.
        deleted: existing names whose last effect is a deletion.
        modified: existing names changed in place (item or attribute assignment or ``del``)
            and not rebound or deleted.
        star_imports: modules imported with ``*`` (they may overwrite any name).
        syntax_error: why the code does not parse (then every other field is empty).
    """

    binds: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    overwritten: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    star_imports: tuple[str, ...] = ()
    syntax_error: str | None = None

    @property
    def new_names(self) -> tuple[str, ...]:
        """Bound names that are not overwritten (they did not exist)."""
        return tuple(n for n in self.binds if n not in self.overwritten and n not in self.deleted)

    def warnings(self) -> tuple[str, ...]:
        """One line per kind of effect on existing names (empty when the cell is harmless)."""
        if self.syntax_error is not None:
            return (f"syntax error: {self.syntax_error}",)
        lines = []
        if self.overwritten:
            lines.append(f"would overwrite: {', '.join(self.overwritten)}")
        if self.deleted:
            lines.append(f"would delete: {', '.join(self.deleted)}")
        if self.modified:
            lines.append(f"would modify in place: {', '.join(self.modified)}")
        lines.extend(
            f"`from {module} import *` may overwrite any name" for module in self.star_imports
        )
        return tuple(lines)


def check_cell(code: str, existing: Collection[str]) -> CellCheck:
    """Read ``code`` (plain Python: transform IPython magics first) against ``existing`` names.

    Args:
        code: the cell's source.
        existing: the names defined in the notebook now.

    Returns:
        The check; ``syntax_error`` is set when the code does not parse.
    """
    try:
        tree = ast.parse(code)
        scan = _Scan(only=None)
        for stmt in tree.body:
            scan.visit(stmt)
    except SyntaxError as exc:
        return CellCheck(syntax_error=_describe_syntax_error(exc))
    except ValueError as exc:  # Python 3.11 raises this for NUL bytes in the source
        return CellCheck(syntax_error=str(exc))
    except RecursionError:
        return CellCheck(syntax_error="the code is nested too deeply to parse")
    last: dict[str, Effect] = {}
    modified: dict[str, None] = {}
    for effect, name in scan.events:
        if effect is Effect.MODIFY:
            modified[name] = None
        else:
            last[name] = effect
    present = set(existing)
    return CellCheck(
        binds=_unique(name for effect, name in scan.events if effect is Effect.BIND),
        deletes=_unique(name for effect, name in scan.events if effect is Effect.DELETE),
        overwritten=tuple(n for n, e in last.items() if e is Effect.BIND and n in present),
        deleted=tuple(n for n, e in last.items() if e is Effect.DELETE and n in present),
        modified=tuple(n for n in modified if n in present and n not in last),
        star_imports=_unique(scan.star_imports),
    )


def _describe_syntax_error(exc: SyntaxError) -> str:
    where = f"line {exc.lineno}" if exc.lineno else "the code"
    text = (exc.text or "").strip()
    shown = f": {text[:80]}" if text else ""
    return f"{exc.msg} at {where}{shown}"


def _unique(names: Iterator[str] | Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _scope_nodes(body: Sequence[ast.AST]) -> Iterator[ast.AST]:
    """Every node of one scope's body, not descending into nested scopes."""
    stack = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _root_name(node: ast.expr) -> str | None:
    """``df`` for ``df["a"].b``; None when the chain starts elsewhere (a call, a literal)."""
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class _Scan(ast.NodeVisitor):
    """Records module-level effects in source order.

    Args:
        only: None at module level (every name counts); inside a function or class body, the
            names that scope declares ``global`` (only those reach the module).
    """

    def __init__(self, *, only: frozenset[str] | None) -> None:
        self.only = only
        self.events: list[tuple[Effect, str]] = []
        self.star_imports: list[str] = []

    def note(self, effect: Effect, name: str) -> None:
        if self.only is None or name in self.only:
            self.events.append((effect, name))

    # ── names and targets ──

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store):
            self.note(Effect.BIND, node.id)
        elif isinstance(node.ctx, ast.Del):
            self.note(Effect.DELETE, node.id)

    def _changed_in_place(self, node: ast.Attribute | ast.Subscript) -> None:
        # Only code that runs now counts: a function body changing a global is speculative.
        if self.only is None and isinstance(node.ctx, (ast.Store, ast.Del)):
            root = _root_name(node.value)
            if root is not None:
                self.note(Effect.MODIFY, root)
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._changed_in_place(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        self._changed_in_place(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        self.visit(node.value)  # the value is evaluated before the targets are bound
        for target in node.targets:
            self.visit(target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.visit(node.value)
        if isinstance(node.target, ast.Name):
            self.note(Effect.BIND, node.target.id)
        else:
            self.visit(node.target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is None:
            return  # `x: int` alone binds nothing at run time
        self.visit(node.value)
        self.visit(node.target)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.visit(node.value)
        self.note(Effect.BIND, node.target.id)

    # ── imports ──

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.note(Effect.BIND, alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name == "*":
                if self.only is None:
                    self.star_imports.append("." * node.level + (node.module or ""))
            else:
                self.note(Effect.BIND, alias.asname or alias.name)

    # ── exceptions and patterns ──

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name is not None:
            self.note(Effect.BIND, node.name)
        for stmt in node.body:
            self.visit(stmt)
        if node.name is not None:
            self.note(Effect.DELETE, node.name)  # Python deletes the name when the block ends

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        self.generic_visit(node)
        if node.name is not None:
            self.note(Effect.BIND, node.name)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name is not None:
            self.note(Effect.BIND, node.name)

    def visit_MatchMapping(self, node: ast.MatchMapping) -> None:
        self.generic_visit(node)
        if node.rest is not None:
            self.note(Effect.BIND, node.rest)

    # ── nested scopes ──

    def _generators(self, generators: Sequence[ast.comprehension]) -> None:
        # Loop variables stay inside; a walrus in the element or a condition leaks out.
        for generator in generators:
            self.visit(generator.iter)
            for condition in generator.ifs:
                self.visit(condition)

    def _comprehension(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp) -> None:
        self._generators(node.generators)
        self.visit(node.elt)

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self._comprehension(node)

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self._comprehension(node)

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self._comprehension(node)

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self._generators(node.generators)
        self.visit(node.key)
        self.visit(node.value)

    def _defaults(self, args: ast.arguments) -> None:
        for default in (*args.defaults, *args.kw_defaults):
            if default is not None:
                self.visit(default)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._defaults(node.args)  # the body is the lambda's own scope

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:
            self.visit(decorator)
        self._defaults(node.args)
        self.note(Effect.BIND, node.name)
        self._inner(node.body)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.decorator_list, *node.bases, *(k.value for k in node.keywords)):
            self.visit(expr)
        self.note(Effect.BIND, node.name)
        self._inner(node.body)

    def _inner(self, body: Sequence[ast.stmt]) -> None:
        """Scan a nested scope for the names it declares global (they bind when it runs)."""
        declared = frozenset(
            name
            for node in _scope_nodes(body)
            if isinstance(node, ast.Global)
            for name in node.names
        )
        inner = _Scan(only=declared)
        for stmt in body:
            inner.visit(stmt)
        # Those names are the module's whatever scope encloses this one: no filter again.
        self.events.extend(inner.events)
