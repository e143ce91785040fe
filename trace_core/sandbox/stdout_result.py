"""Fallback: recover an objective value and status from a program's printed output.

Used only when the program did not call ``report()``. Real programs print their result in many
shapes: a solver's own log ("Optimal objective  3.243590000e+01", "Primal Bound : +3.2e+01"),
a sentence ("The minimum cost is $1,234.50"), a label ("Total value at End of Year 3:
510000.00 yuan"), a dict (``{'status': 'optimal', 'obj': 4}``), followed by breakdown lines
("Total Revenue: 9000"). Each candidate line gets a weight from what its label says, so

- the solver's final objective line and a line the program labels as the objective win over
  breakdowns, whatever order they come in;
- the number read is the one after the label's separator, not a number inside the label;
- a program's rounded objective ("32.44") that agrees with the solver's full-precision line
  (32.4359) is replaced by the solver's value;
- a status comes only from statements of a status (a ``status`` label, a solver's verdict line),
  never from a parameter echo such as "Set parameter TimeLimit to value 60".
"""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass

_CURRENCY = r"(?:[$€£¥₹]|USD|EUR|RMB|CNY)"
_NUM = (
    r"(?<![\w.])[-+]?(?:" + _CURRENCY + r"\s?)?[-+]?"
    r"(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
)
_NUMBER = re.compile(_NUM)
# A value right after a separator: only blanks, quotes and a currency may come between.
_VALUE_AFTER = re.compile(r"[\s:='\"]*(?P<num>" + _NUM + r")")
_SEPARATOR = re.compile(r":=|[:=]|->|\b(?:is|was|are|equals?)\b", re.IGNORECASE)
_CLAUSE = re.compile(r"[,;]\s+|\s+\|\s+|\t+")

# The solver's own final lines (Gurobi, SCIP, HiGHS, CBC): full precision, highest weight.
_SOLVER_LINES = (
    re.compile(r"^\s*Optimal objective\s+(?P<num>" + _NUM + r")\s*$"),
    re.compile(r"^\s*Best objective\s+(?P<num>" + _NUM + r"),\s*best bound"),
    re.compile(r"^\s*Primal Bound\s*:\s*(?P<num>" + _NUM + r")"),
    re.compile(r"^\s*Objective value\s*(?::\s{2,}|\s{2,}:\s*)(?P<num>" + _NUM + r")\s*$", re.I),
)
# Log lines whose numbers are never the final objective (incumbents, statistics, echoes).
_NOISE = re.compile(
    r"^\s*(?:set parameter|model has|model fingerprint|thread count|solution count|explored|"
    r"presolve|warning|optimize a model|root relaxation|found heuristic solution|"
    r"[*Hh]?\s*\d+\s+\d+\s)|heuristic|best bound|\(obj:|incumbent|integer solution of|"
    r"tolerance",
)
_NOT_OBJECTIVE = re.compile(
    r"\b(?:bound|gap|range|ranges|tolerance|limit|iterations?|seconds|nodes?|threads?|"
    r"parameters?|coefficients?|constant|error|rows|columns|nonzeros|status)\b|"
    r"\b(?:solv\w*|run|cpu|wall|elapsed|computation|presolve)\s*time\b|runtime",
)
_OBJECTIVE_WORD = re.compile(
    r"\bobj(?:ective)?s?\b|\bobj\s*val|objval|\bobjective\w*|\b(?:optimal|optimum)\s+"
    r"(?:solution\s+)?(?:value|result)\b",
)
_EXTREMUM = re.compile(
    r"\b(?:optimal|optimum|optimi[sz]ed|minimum|maximum|minimal|maximal|minimi[sz]ed|"
    r"maximi[sz]ed|minimi[sz]e|maximi[sz]e|min|max|best|lowest|highest|least|smallest|"
    r"largest|greatest)\b",
)
_GOAL_NOUN = re.compile(
    r"\b(?:costs?|profits?|revenues?|values?|totals?|makespan|area|hours?|time|distance|"
    r"income|returns?|earnings|expenses?|expenditure|spending|loss(?:es)?|utility|yield|"
    r"score|penalty|emissions?|waste|payments?|price|weight|amount|number|count|sum|"
    r"outputs?|volume|savings|benefit|result)\b",
)
# "Optimal number of trucks: 5", "Best production plan: 20 units" name a variable's value as
# often as the objective: reading them as the objective would be a wrong answer no repair can
# fix, so they are not read (the program is asked to call report() instead).
_VARIABLE_LIKE = re.compile(
    r"\b(?:optimal|optimum|optimi[sz]ed|best)\b.*\b(?:(?:number|amount|units|quantity|"
    r"production|level|allocation)\s+(?:of|for|to)\b|plan|schedule|allocation|assignment|"
    r"route|selection|mix)",
)
_TOTAL = re.compile(r"\btotal\b")
_BARE_GOAL = re.compile(r"\b(?:profit|cost|revenue|income|earnings|makespan)\b")

SOLVER_WEIGHT = 50
_ROUNDING_SLACK = 1e-9

# Status vocabulary, most specific first (a line says "infeasible or unbounded" before it
# says "infeasible"; "suboptimal" before "optimal").
_STATUS_TERMS = (
    ("infeasible_or_unbounded", r"inf(?:easible)?[_ ]?or[_ ]?unb(?:ounded|d)?|inforunbd"),
    ("infeasible", r"infeasible"),
    ("unbounded", r"unbounded"),
    ("time_limit", r"time[_ ]?limit|timelimit|timeout|timed out"),
    ("suboptimal", r"sub[-_ ]?optimal"),
    ("no_solution", r"no (?:optimal |feasible )?solution|not solved|undefined"),
    ("optimal", r"optimal"),
    ("feasible", r"feasible"),
    ("interrupted", r"interrupted|node[_ ]?limit|solution[_ ]?limit|gap[_ ]?limit|user[_ ]?limit"),
)
_STATUS_TEXT = [
    (name, re.compile(r"\b(?:k)?(?:" + rx + r")\b", re.I)) for name, rx in _STATUS_TERMS
]
# Gurobi's numeric status codes, as programs print them ("Status: 2").
_GUROBI_CODES = {
    2: "optimal",
    3: "infeasible",
    4: "infeasible_or_unbounded",
    5: "unbounded",
    9: "time_limit",
    11: "interrupted",
    13: "suboptimal",
}
_STATUS_LABEL = re.compile(r"\bstatus\b[^:=\n]{0,30}[:=]\s*(?P<value>.+)$")
# Verdict sentences: what a solver or a program says about the model as a whole.
_VERDICTS = (
    (re.compile(r"\bno (?:optimal |feasible )?solution (?:was )?found\b"), "no_solution"),
    (re.compile(r"\boptimal solution found\b|\bfound (?:an? )?optimal solution"), "optimal"),
    (
        re.compile(
            r"\btime limit (?:reached|hit|exceeded)|\b(?:reached|hit|exceeded) (?:the )?"
            r"time limit|\bstopped\b.*\btime limit",
        ),
        "time_limit",
    ),
    (
        re.compile(
            r"\b(?:model|problem|lp|mip|program)\s+(?:is|was)\s+(?:proven\s+)?"
            r"infeasible or unbounded|^\s*infeasible or unbounded model",
        ),
        "infeasible_or_unbounded",
    ),
    (
        re.compile(
            r"\b(?:model|problem|lp|mip|program|it)\s+(?:is|was)\s+(?:proven\s+)?infeasible"
            r"|^\s*infeasible(?:\s+model)?\b|\bno feasible solution\b",
        ),
        "infeasible",
    ),
    (
        re.compile(
            r"\b(?:model|problem|lp|mip|program|it)\s+(?:is|was)\s+(?:proven\s+)?unbounded"
            r"|^\s*unbounded(?:\s+model)?\b",
        ),
        "unbounded",
    ),
)
# Every label with a weight, and every solver line, contains one of these (lower-cased).
_VALUE_HINTS = (
    "obj",
    "optim",
    "min",
    "max",
    "best",
    "lowest",
    "highest",
    "least",
    "smallest",
    "largest",
    "greatest",
    "total",
    "profit",
    "cost",
    "revenue",
    "income",
    "earning",
    "makespan",
    "primal bound",
)
_STATUS_HINTS = ("status", "optimal", "feasible", "unbounded", "limit", "solution", "time")
_DIGIT = re.compile(r"\d")
# Rows of a solver's node log / progress table (Gurobi "     0     0 ...", SCIP "t 0.0s| ...").
_TABLE_ROW = re.compile(r"\s*(?:[*Hh]?\s*\d+\s+\d+\s|[a-zA-Z*]?\s?\d+\.\d+s\|)")
_NO_VALUE_STATUSES = {"infeasible", "unbounded", "infeasible_or_unbounded", "no_solution"}
_DICT_STATUS_KEYS = {"status", "solverstatus", "modelstatus", "solutionstatus", "state"}


@dataclass(frozen=True)
class PrintedResult:
    """What a program's printed output says: objective, status, and the line it came from."""

    objective: float | None
    status: str | None
    line: str | None = None


@dataclass(frozen=True)
class _Candidate:
    value: float
    weight: int
    position: int
    text: str
    decimals: int | None  # digits after the point as printed; None for scientific notation


def _to_float(text: str) -> tuple[float, int | None] | None:
    match = re.fullmatch(r"([-+]?)(?:" + _CURRENCY + r")?\s?([-+]?)(.*)", text.strip())
    if match is None:
        return None
    negative = (match.group(1) == "-") != (match.group(2) == "-")
    cleaned = match.group(3).replace(",", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    if "e" in cleaned.lower():
        decimals = None
    else:
        decimals = len(cleaned.split(".", 1)[1]) if "." in cleaned else 0
    return (-value if negative else value), decimals


def label_weight(label: str) -> int:
    """How surely a label names the objective: 40 "objective", 30 "minimum cost", 20 "optimal
    solution", 10 "total cost", 5 "profit", 0 anything else (a bound, a solve time, a status,
    "optimal number of trucks" and other variable-like labels)."""
    label = label.lower()  # the patterns are lower-case: IGNORECASE makes them 2-3x slower
    if not label.strip() or _NOT_OBJECTIVE.search(label):
        return 0
    if ("obj" in label or "optim" in label) and _OBJECTIVE_WORD.search(label):
        return 40
    if _EXTREMUM.search(label):
        if _VARIABLE_LIKE.search(label):
            return 0
        return 30 if _GOAL_NOUN.search(label) or _TOTAL.search(label) else 20
    if _TOTAL.search(label):
        return 10
    return 5 if _BARE_GOAL.search(label) else 0


def _clause_candidates(clause: str) -> list[tuple[int, str]]:
    """(weight, number text) for each way the clause reads as "label <sep> value"."""
    found: list[tuple[int, str]] = []
    previous_end = 0
    for sep in _SEPARATOR.finditer(clause):
        value = _VALUE_AFTER.match(clause, sep.end())
        segment = clause[previous_end : sep.start()]
        label = segment if re.search(r"[A-Za-z]", segment) else clause[: sep.start()]
        previous_end = sep.end()
        if value is not None:
            found.append((label_weight(label), value.group("num")))
    if not found:  # "Optimal value 42": the label runs up to the first number
        number = _NUMBER.search(clause)
        if number is not None:
            found.append((label_weight(clause[: number.start()]), number.group(0)))
    return found


def _line_candidate(line: str, position: int) -> _Candidate | None:
    for pattern in _SOLVER_LINES:
        match = pattern.match(line)
        if match is not None:
            return _make(match.group("num"), SOLVER_WEIGHT, position, line)
    if _NOISE.search(line.lower()):
        return None
    best: tuple[int, str] | None = None
    for clause in _CLAUSE.split(line):
        for weight, number in _clause_candidates(clause):
            if weight > 0 and (best is None or weight > best[0]):
                best = (weight, number)
    return _make(best[1], best[0], position, line) if best else None


def _make(number: str, weight: int, position: int, line: str) -> _Candidate | None:
    parsed = _to_float(number)
    if parsed is None:
        return None
    return _Candidate(parsed[0], weight, position, line.strip(), parsed[1])


def _parse_mapping(line: str) -> dict[object, object] | None:
    start, end = line.find("{"), line.rfind("}")
    if start < 0 or end <= start:
        return None
    text = line[start : end + 1]
    for parse in (json.loads, ast.literal_eval):
        try:
            data = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        return data if isinstance(data, dict) else None
    return None


def _key(name: object) -> str:
    return re.sub(r"[^a-z]", "", str(name).lower())


def _mapping_result(
    data: dict[object, object], position: int, line: str
) -> tuple[_Candidate | None, str | None]:
    best: _Candidate | None = None
    status: str | None = None
    for key, value in data.items():
        if _key(key) in _DICT_STATUS_KEYS and isinstance(value, str | int):
            status = status_word(str(value)) or status
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            continue
        label = re.sub(r"(?<=[a-z])(?=[A-Z])|_", " ", str(key))
        weight = label_weight(label)
        candidate = _make(str(value), weight, position, line) if weight else None
        if candidate is not None and (best is None or candidate.weight > best.weight):
            best = candidate
    return best, status


def status_word(text: str) -> str | None:
    """A status text ("Optimal", "2", "kInfeasible", "TIME_LIMIT", "problem is solved
    [optimal solution found]") in one vocabulary: "optimal", "infeasible", "unbounded",
    "infeasible_or_unbounded", "time_limit", "suboptimal", "feasible", "no_solution",
    "interrupted"; None when it names none of them. Numbers are Gurobi's status codes."""
    stripped = text.strip().strip("'\"").strip()
    if re.fullmatch(r"\d+", stripped):
        return _GUROBI_CODES.get(int(stripped))
    for name, pattern in _STATUS_TEXT:
        if pattern.search(stripped):
            return name
    return None


def _line_status(line: str) -> str | None:
    line = line.lower()
    if line.lstrip().startswith("set parameter") or _TABLE_ROW.match(line):
        return None
    labelled = _STATUS_LABEL.search(line)
    if labelled is not None:
        word = status_word(labelled.group("value").split(",")[0])
        if word is not None:
            return word
    for pattern, status in _VERDICTS:
        if pattern.search(line):
            return status
    return None


def _consistent(printed: _Candidate, solver: float) -> bool:
    """True when ``printed`` is ``solver`` rounded to the digits the program printed."""
    decimals = printed.decimals
    slack = abs(solver) * 1e-6 if decimals is None else 0.5 * 10.0 ** (-decimals)
    return abs(printed.value - solver) <= slack + _ROUNDING_SLACK * max(1.0, abs(solver))


def _refined(stated: _Candidate, solver: _Candidate | None) -> _Candidate | None:
    """``solver``'s full-precision value (signed as printed) when ``stated`` is its rounding."""
    if solver is None:
        return None
    for sign in (1.0, -1.0):
        if _consistent(stated, sign * solver.value):
            return _Candidate(
                sign * solver.value, stated.weight, stated.position, stated.text, None
            )
    return None


def _choose(candidates: list[_Candidate]) -> _Candidate | None:
    solver = [c for c in candidates if c.weight == SOLVER_WEIGHT]
    final = solver[-1] if solver else None
    program = [c for c in candidates if c.weight < SOLVER_WEIGHT]
    if not program:
        return final
    top = max(c.weight for c in program)
    pool = [c for c in program if c.weight == top]
    for stated in reversed(pool):
        refined = _refined(stated, final)
        if refined is not None:
            return refined
    # Labelled objectives: the last one is the final solve. Weaker labels (totals, bare
    # nouns): the first is the headline, later ones are its breakdown.
    stated = pool[-1] if top >= 40 else pool[0]
    if final is None:
        return stated
    # The program states its own number (a constant added, another model solved after):
    # trust it when it says "objective" or "minimum cost"; otherwise trust the solver.
    return stated if stated.weight >= 30 else final


def read_printed_result(stdout: str) -> PrintedResult:
    """The objective and status that ``stdout`` states, by the rules in the module docstring."""
    candidates: list[_Candidate] = []
    status: str | None = None
    for position, line in enumerate(stdout.splitlines()):
        if len(line) > 2000 or _TABLE_ROW.match(line):
            continue  # a dumped array or a solver's progress table: no final result there
        mapping = _parse_mapping(line) if "{" in line else None
        if mapping is not None:
            found, said = _mapping_result(mapping, position, line)
            status = said or status
        else:
            # Cheap substring checks first: most lines of a solver log name neither.
            low = line.lower()
            value_hint = any(word in low for word in _VALUE_HINTS) and _DIGIT.search(line)
            found = _line_candidate(line, position) if value_hint else None
            if any(word in low for word in _STATUS_HINTS):
                status = _line_status(line) or status
        if found is not None:
            candidates.append(found)
    chosen = _choose(candidates)
    objective = chosen.value if chosen is not None else None
    if status in _NO_VALUE_STATUSES:
        objective = None
    elif status is None and objective is not None:
        status = "optimal"
    return PrintedResult(
        objective, status, chosen.text if chosen and objective is not None else None
    )


def parse_objective(stdout: str) -> float | None:
    """The objective value ``stdout`` states, or None (see :func:`read_printed_result`)."""
    return read_printed_result(stdout).objective


def parse_status(stdout: str, objective: float | None = None) -> str | None:
    """The status ``stdout`` states, "optimal" when it only states a value, else None.

    ``objective`` is accepted for compatibility; the status is read from the text alone.
    """
    del objective
    return read_printed_result(stdout).status
