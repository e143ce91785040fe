"""The formatted demonstration a synthesized problem is built from, and its format validator.

A demonstration is a list of sections, each a ``## Header`` followed by natural-language lines
and then (except for the scenario) a contiguous block of formal ``//`` lines::

    ## Scenario
    A bakery plans tomorrow's baking ...

    ## Define Variables
    The bakery decides how many loaves and cakes to bake.
    // {"symbol": "B", "description": "loaves of bread", "range": "B >= 0", "type": "integer"}

    ## Define Objective Function
    Each loaf earns $3 and each cake $5; maximize the profit.
    // Maximize: 3*B + 5*C

    ## Constraint 1
    The oven is free for 40 hours; a loaf needs 0.5 hours and a cake 1 hour.
    // 0.5*B + C <= 40

The validator checks header order, that each section has natural language before its formal
block, that formal lines parse (variable records as JSON, expressions as arithmetic over the
declared symbols), and truncates at the first bad section, as ReSocratic's filter does.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field

from agents.errors import AgentsError

SCENARIO = "Scenario"
VARIABLES = "Define Variables"
OBJECTIVE = "Define Objective Function"
CONSTRAINT_PREFIX = "Constraint"
VARIABLE_TYPES = ("continuous", "integer", "binary")
MATH_FUNCTIONS = frozenset({"sqrt", "exp", "log", "abs", "min", "max", "pow"})
MIN_CONSTRAINTS = 1
MAX_CONSTRAINTS = 5

_HEADER = re.compile(r"^##\s*(?P<title>[^#].*?)\s*:?\s*$")
_OBJECTIVE_LINE = re.compile(r"^(?P<sense>maximize|minimize)\s*:\s*(?P<expr>.+)$", re.IGNORECASE)
_COMPARISON = re.compile(r"(<=|>=|==|=|<|>)")


class DemonstrationError(AgentsError, ValueError):
    """A demonstration (or one of its sections) breaks the format; the message says where."""


@dataclass
class Section:
    """One ``## Header`` block: its natural-language lines and its formal ``//`` lines."""

    title: str
    text: list[str] = field(default_factory=list)
    formal: list[str] = field(default_factory=list)
    trailing: list[str] = field(default_factory=list)  # text after the formal block (invalid)

    def render(self) -> str:
        """The section as markdown: heading, text, then its formal lines as ``//`` comments."""
        lines = [f"## {self.title}", *self.text, *(f"// {line}" for line in self.formal)]
        return "\n".join(lines)


@dataclass
class Variable:
    """A decision variable declared in the Define Variables section."""

    symbol: str
    description: str
    range: str
    type: str


@dataclass
class Demonstration:
    """A validated demonstration: scenario, variables, objective and 1+ constraints."""

    sections: list[Section]
    variables: list[Variable]
    sense: str  # "maximize" or "minimize"

    @property
    def constraints(self) -> list[Section]:
        """The constraint sections (every section after the objective)."""
        return self.sections[3:]

    @property
    def level(self) -> int:
        """ReSocratic's level: variables + objective + constraints (3 to 7)."""
        return 2 + len(self.constraints)

    def render(self) -> str:
        """The whole demonstration as markdown text."""
        return "\n\n".join(section.render() for section in self.sections) + "\n"

    def formal_text(self) -> str:
        """Only the ``//`` lines (what back-translated questions must never show)."""
        return "\n".join(line for s in self.sections for line in s.formal)

    def variables_objective_text(self) -> str:
        """The part near-duplicate detection compares (variables + objective sections)."""
        return "\n".join(s.render() for s in self.sections[1:3])

    def prefix(self, n_constraints: int) -> Demonstration:
        """The demonstration cut after its first ``n_constraints`` constraints."""
        if not 1 <= n_constraints <= len(self.constraints):
            raise ValueError(f"n_constraints must be in 1..{len(self.constraints)}")
        return Demonstration(self.sections[: 3 + n_constraints], self.variables, self.sense)

    def prefixes(self, min_level: int = 3, max_level: int = 7) -> list[Demonstration]:
        """Prefix expansion: every prefix whose level lies in [min_level, max_level]."""
        return [
            self.prefix(k)
            for k in range(1, len(self.constraints) + 1)
            if min_level <= 2 + k <= max_level
        ]

    def tags(self) -> list[str]:
        """Model-type tags in the shared dataset vocabulary."""
        types = {v.type for v in self.variables}
        linear = all(_is_linear(expr, self.symbols) for expr in self._expressions())
        tags = ["linear" if linear else "nonlinear"]
        if types <= {"integer", "binary"}:
            tags.append("integer")
        elif types & {"integer", "binary"}:
            tags.append("mixed-integer")
        return tags

    @property
    def symbols(self) -> set[str]:
        """The declared variable symbols."""
        return {v.symbol for v in self.variables}

    def _expressions(self) -> list[str]:
        exprs = [_OBJECTIVE_LINE.match(self.sections[2].formal[0]).group("expr")]  # type: ignore[union-attr]
        for section in self.constraints:
            exprs.extend(section.formal)
        return exprs


def split_sections(text: str) -> list[Section]:
    """Split text into sections at ``## `` headers; text before the first header is ignored."""
    sections: list[Section] = []
    for raw in text.strip().splitlines():
        line = raw.strip()
        header = _HEADER.match(line)
        if header:
            sections.append(Section(header.group("title").strip()))
        elif sections and line:
            target = sections[-1]
            if line.startswith("//"):
                target.formal.append(line[2:].strip())
            else:
                (target.trailing if target.formal else target.text).append(line)
    return sections


def expected_title(index: int) -> str:
    """The header the ``index``-th section (0-based) must have."""
    if index == 0:
        return SCENARIO
    if index == 1:
        return VARIABLES
    if index == 2:
        return OBJECTIVE
    return f"{CONSTRAINT_PREFIX} {index - 2}"


def check_section(section: Section, index: int, symbols: set[str]) -> list[Variable]:
    """Validate one section in position ``index``; returns the variables it declares.

    Raises :class:`DemonstrationError` saying what is wrong.
    """
    want = expected_title(index)
    if _norm(section.title) != _norm(want):
        raise DemonstrationError(
            f"section {index + 1} is '## {section.title}', expected '## {want}'"
        )
    if section.trailing:
        raise DemonstrationError(f"'## {want}': text after the '//' lines")
    if not section.text:
        raise DemonstrationError(f"'## {want}' has no natural-language line")
    if index == 0:
        if section.formal:
            raise DemonstrationError("'## Scenario' must not hold '//' lines")
        return []
    if not section.formal:
        raise DemonstrationError(f"'## {want}' has no '//' lines")
    if index == 1:
        return _parse_variables(section.formal)
    if index == 2:
        if len(section.formal) != 1:
            raise DemonstrationError("'## Define Objective Function' needs exactly one '//' line")
        match = _OBJECTIVE_LINE.match(section.formal[0])
        if not match:
            raise DemonstrationError("objective line must read '// Maximize: ...' or 'Minimize:'")
        _check_expression(match.group("expr"), symbols, want)
        return []
    for line in section.formal:
        parts = _COMPARISON.split(line)
        if len(parts) != 3:
            raise DemonstrationError(f"'## {want}': {line!r} is not one comparison (<=, >=, =)")
        _check_expression(parts[0], symbols, want)
        _check_expression(parts[2], symbols, want)
    return []


def validate(text: str, *, min_constraints: int = MIN_CONSTRAINTS) -> tuple[Demonstration, str]:
    """Parse and validate ``text``, truncating at the first bad section.

    Returns the valid demonstration and the reason it was truncated ("" when complete). Raises
    :class:`DemonstrationError` when fewer than scenario + variables + objective +
    ``min_constraints`` constraints survive.
    """
    sections = split_sections(text)
    good: list[Section] = []
    variables: list[Variable] = []
    problem = ""
    for index, section in enumerate(sections):
        try:
            declared = check_section(section, index, {v.symbol for v in variables})
        except DemonstrationError as err:
            problem = str(err)
            break
        variables.extend(declared)
        good.append(section)
        if index >= 2 + MAX_CONSTRAINTS:
            problem = f"more than {MAX_CONSTRAINTS} constraints; extra ones dropped"
            break
    if len(good) < 3 + min_constraints:
        raise DemonstrationError(problem or "needs a scenario, variables, objective, constraints")
    sense = _OBJECTIVE_LINE.match(good[2].formal[0]).group("sense").lower()  # type: ignore[union-attr]
    return Demonstration(good, variables, sense), problem


def _norm(title: str) -> str:
    return re.sub(r"[\s:\-]+", " ", title).strip().lower()


def _parse_variables(lines: list[str]) -> list[Variable]:
    variables: list[Variable] = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise DemonstrationError(f"variable line {line!r} is not a JSON object") from err
        if not isinstance(record, dict):
            raise DemonstrationError(f"variable line {line!r} is not a JSON object")
        missing = [k for k in ("symbol", "description", "range", "type") if k not in record]
        if missing:
            raise DemonstrationError(f"variable line {line!r} lacks {', '.join(missing)}")
        symbol, kind = str(record["symbol"]), str(record["type"]).lower()
        if not symbol.isidentifier() or symbol in MATH_FUNCTIONS:
            raise DemonstrationError(f"variable symbol {symbol!r} is not a plain identifier")
        if kind not in VARIABLE_TYPES:
            raise DemonstrationError(f"variable {symbol}: type {kind!r} not in {VARIABLE_TYPES}")
        if any(v.symbol == symbol for v in variables):
            raise DemonstrationError(f"variable symbol {symbol!r} is declared twice")
        variables.append(Variable(symbol, str(record["description"]), str(record["range"]), kind))
    return variables


def _parse_expression(expr: str, where: str) -> ast.expr:
    try:
        return ast.parse(expr.strip().replace("^", "**"), mode="eval").body
    except SyntaxError as err:
        raise DemonstrationError(f"'## {where}': {expr.strip()!r} is not an expression") from err


def _check_expression(expr: str, symbols: set[str], where: str) -> None:
    tree = _parse_expression(expr, where)
    allowed = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Call, ast.operator, ast.unaryop)
    for node in ast.walk(ast.Expression(tree)):
        if isinstance(node, ast.Expression | ast.Load):
            continue
        if not isinstance(node, allowed):
            raise DemonstrationError(f"'## {where}': {expr.strip()!r} is not plain arithmetic")
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise DemonstrationError(f"'## {where}': {expr.strip()!r} holds a non-number")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id in MATH_FUNCTIONS
        ):
            raise DemonstrationError(f"'## {where}': unknown function in {expr.strip()!r}")
        if isinstance(node, ast.Name) and node.id not in symbols | MATH_FUNCTIONS:
            raise DemonstrationError(f"'## {where}': unknown symbol {node.id!r}")


def _has_symbol(tree: ast.AST, symbols: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in symbols for n in ast.walk(tree))


def _is_linear(expr: str, symbols: set[str]) -> bool:
    for side in _COMPARISON.split(expr)[::2]:
        tree = _parse_expression(side, "linearity")
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _has_symbol(node, symbols):
                return False
            if isinstance(node, ast.BinOp):
                left, right = _has_symbol(node.left, symbols), _has_symbol(node.right, symbols)
                if isinstance(node.op, ast.Mult) and left and right:
                    return False
                if isinstance(node.op, ast.Div | ast.Pow | ast.Mod | ast.FloorDiv) and right:
                    return False
                if isinstance(node.op, ast.Pow) and left:
                    return False
    return True
