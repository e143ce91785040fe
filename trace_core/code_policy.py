"""What new source for a trainable function may contain, and how it is compiled.

An optimizer rewrites a trainable function's source; before that source replaces the old one
it must parse, define exactly one function with the same signature, and pass an AST policy:
imports only from an allow-list; no ``exec``/``eval``/``compile``/``open``/``__import__``, no
``os``/``sys``/``subprocess``/``socket``-style modules, no dunder attribute access (the usual
way out of a restricted namespace). The policy is a guard against an LLM writing something
harmful by accident, not a security boundary: for untrusted code use ``isolation="sandbox"``.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import linecache
import textwrap
from collections.abc import Callable
from typing import Any

from trace_core.errors import TraceError

ALLOWED_IMPORTS = frozenset(
    {
        "bisect",
        "cmath",
        "collections",
        "copy",
        "dataclasses",
        "datetime",
        "decimal",
        "difflib",
        "enum",
        "fractions",
        "functools",
        "heapq",
        "itertools",
        "json",
        "math",
        "numpy",
        "operator",
        "random",
        "re",
        "statistics",
        "string",
        "textwrap",
        "typing",
    }
)

FORBIDDEN_NAMES = frozenset(
    {
        "__builtins__",
        "__import__",
        "breakpoint",
        "builtins",
        "compile",
        "ctypes",
        "delattr",
        "eval",
        "exec",
        "exit",
        "getattr",
        "globals",
        "importlib",
        "input",
        "locals",
        "marshal",
        "multiprocessing",
        "open",
        "os",
        "pathlib",
        "pickle",
        "quit",
        "setattr",
        "shutil",
        "signal",
        "socket",
        "subprocess",
        "sys",
        "threading",
        "vars",
    }
)


class CodePolicyError(TraceError, ValueError):
    """New source broke the code policy; ``violations`` lists each problem with its line."""

    def __init__(self, violations: list[str]) -> None:
        self.violations = violations
        super().__init__(
            "code policy violation: "
            + "; ".join(violations)
            + " (allowed imports: "
            + ", ".join(sorted(ALLOWED_IMPORTS))
            + "; pass allow_unsafe_code=True to @bundle to trust this code)"
        )


def policy_violations(tree: ast.AST) -> list[str]:
    """Every construct in ``tree`` the policy forbids, as ``line N: what`` strings."""
    found: list[str] = []
    for item in ast.walk(tree):
        line = getattr(item, "lineno", "?")
        if isinstance(item, ast.Import):
            for alias in item.names:
                if alias.name.split(".")[0] not in ALLOWED_IMPORTS:
                    found.append(f"line {line}: import of {alias.name!r} is not allowed")
        elif isinstance(item, ast.ImportFrom):
            module = item.module or ""
            if item.level or module.split(".")[0] not in ALLOWED_IMPORTS:
                found.append(f"line {line}: import from {module or '.'!r} is not allowed")
            if any(alias.name == "*" for alias in item.names):
                found.append(f"line {line}: 'import *' is not allowed")
        elif isinstance(item, ast.Name) and item.id in FORBIDDEN_NAMES:
            found.append(f"line {line}: use of {item.id!r} is not allowed")
        elif isinstance(item, ast.Attribute) and item.attr.startswith("__"):
            found.append(f"line {line}: dunder attribute {item.attr!r} is not allowed")
    return found


def _is_bundle_decorator(expr: ast.expr) -> bool:
    target = expr.func if isinstance(expr, ast.Call) else expr
    name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
    return name == "bundle"


def function_source(fn: Callable[..., Any]) -> str:
    """The source of ``fn``, dedented, from its ``def`` or from the first decorator written
    below ``@bundle`` (those are part of the function: they apply again to new source).

    Raises ValueError when the source cannot be read."""
    try:
        raw = inspect.getsource(fn)
    except (OSError, TypeError) as err:
        raise ValueError(
            f"cannot read the source of {fn.__qualname__} ({err}); trainable functions must be "
            "defined in a file, not in an interactive session or via exec"
        ) from None
    lines = textwrap.dedent(raw).splitlines()
    tree = ast.parse("\n".join(lines))
    definition = tree.body[0]
    if not isinstance(definition, ast.FunctionDef | ast.AsyncFunctionDef):
        raise ValueError(f"{fn.__qualname__} is not defined by a def statement")
    start = definition.lineno
    below = definition.decorator_list
    for i, decorator in enumerate(below):
        if _is_bundle_decorator(decorator):
            below = below[i + 1 :]
    if below:
        start = below[0].lineno
    return "\n".join(lines[start - 1 :]).rstrip() + "\n"


def decorators_of(source: str) -> frozenset[str]:
    """The decorators on the function ``source`` defines, as text (what new source may keep)."""
    tree = ast.parse(source)
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return frozenset(ast.unparse(d) for d in found[0].decorator_list) if found else frozenset()


def signature_key(fn: Callable[..., Any]) -> tuple[tuple[str, str, bool], ...]:
    """Parameter names, kinds and whether each has a default: what must not change."""
    return tuple(
        (p.name, p.kind.name, p.default is not inspect.Parameter.empty)
        for p in inspect.signature(fn).parameters.values()
    )


def _ast_signature_key(
    definition: ast.FunctionDef | ast.AsyncFunctionDef,
) -> tuple[tuple[str, str, bool], ...]:
    """:func:`signature_key` read from the syntax tree, without running anything."""
    a = definition.args
    positional = [*a.posonlyargs, *a.args]
    first_default = len(positional) - len(a.defaults)
    key: list[tuple[str, str, bool]] = []
    for i, arg in enumerate(positional):
        kind = "POSITIONAL_ONLY" if i < len(a.posonlyargs) else "POSITIONAL_OR_KEYWORD"
        key.append((arg.arg, kind, i >= first_default))
    if a.vararg is not None:
        key.append((a.vararg.arg, "VAR_POSITIONAL", False))
    for arg, default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
        key.append((arg.arg, "KEYWORD_ONLY", default is not None))
    if a.kwarg is not None:
        key.append((a.kwarg.arg, "VAR_KEYWORD", False))
    return tuple(key)


def check_source(
    source: str,
    *,
    expected_signature: tuple[tuple[str, str, bool], ...] | None,
    check_policy: bool,
    allowed_decorators: frozenset[str] = frozenset(),
) -> tuple[ast.Module, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Parse ``source`` and check shape, signature and policy without executing any of it.

    Raises ``SyntaxError`` for unparsable source, ``CodePolicyError`` for forbidden constructs
    and ``ValueError`` for a wrong shape or a changed signature.
    """
    tree = ast.parse(source)
    definitions = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(definitions) != 1:
        raise ValueError(f"source must define exactly one function, found {len(definitions)}")
    definition = definitions[0]
    if expected_signature is not None:
        found = _ast_signature_key(definition)
        if found != expected_signature:
            raise ValueError(
                f"the new code changes the signature to ({', '.join(n for n, _, _ in found)}); "
                f"keep the parameters {[name for name, _, _ in expected_signature]} with the "
                "same kinds and defaults"
            )
    if check_policy:
        extra = [
            f"line {n.lineno}: only imports, the function and docstrings may be top-level"
            for n in tree.body
            if not isinstance(
                n, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef | ast.Expr
            )
            or (isinstance(n, ast.Expr) and not isinstance(n.value, ast.Constant))
        ]
        for decorator in definition.decorator_list:
            if ast.unparse(decorator) not in allowed_decorators:
                extra.append(
                    f"line {decorator.lineno}: decorator @{ast.unparse(decorator)} is not "
                    "allowed (only the function's original decorators may stay)"
                )
        violations = extra + policy_violations(tree)
        if violations:
            raise CodePolicyError(violations)
    return tree, definition


def compile_function(
    source: str,
    namespace: dict[str, Any],
    *,
    expected_signature: tuple[tuple[str, str, bool], ...] | None,
    check_policy: bool,
    label: str,
    allowed_decorators: frozenset[str] = frozenset(),
) -> Callable[..., Any]:
    """Check ``source`` (see :func:`check_source`), then compile it and return the function.

    Only the ``def`` statement (and allowed imports) run here; the body runs when called.
    """
    tree, definition = check_source(
        source,
        expected_signature=expected_signature,
        check_policy=check_policy,
        allowed_decorators=allowed_decorators,
    )
    digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()[:10]
    filename = f"<trainable {label} {digest}>"
    # Registering the text lets tracebacks (ExceptionNode.traceback_text) show failing lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    # A copy of the namespace: the new code's imports and def must not leak into the module.
    scope = dict(namespace)
    exec(compile(tree, filename, "exec"), scope)
    fn: Callable[..., Any] = scope[definition.name]
    return fn
