"""The solver-neutral optimization model every backend solves and every file format maps to.

A `Model` is plain data: variables with bounds and a type, linear constraints that may carry
quadratic terms, and an objective (linear part, optional quadratic part, constant, sense). It
is a pydantic model so it validates on construction, round-trips through JSON, and can be
copied cheaply (``model.model_copy(deep=True)``) by meta-solvers that fix or relax variables.

Conventions (the same in every backend and file format):
- a quadratic term ``QuadraticTerm(a, b, c)`` contributes ``c * a * b`` (no implicit 1/2);
  ``a == b`` gives ``c * a**2``; the same pair may appear more than once (terms add up);
- the reported objective includes ``objective_constant``;
- binary variables have bounds within [0, 1]; an integer variable's bounds may be fractional
  (solvers round them inward).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from agents.solvers.errors import ModelError

INF = math.inf


class VarType(StrEnum):
    """Domain of a variable."""

    CONTINUOUS = "continuous"
    INTEGER = "integer"
    BINARY = "binary"


class ConstraintSense(StrEnum):
    """Relation between a constraint's left-hand side and its right-hand side."""

    LE = "<="
    GE = ">="
    EQ = "="


class ObjectiveSense(StrEnum):
    """Direction of optimization."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


class Capability(StrEnum):
    """Problem classes a backend can solve; `Model.problem_class` names the one a model needs.

    ``qp``: quadratic objective, linear constraints, continuous variables.
    ``nlp``: continuous with quadratic constraints (QCP/QCQP; general nonlinear models live in
    generated programs, not in the neutral model).
    ``minlp``: integer variables together with any quadratic term (MIQP, MIQCP).
    """

    LP = "lp"
    MILP = "milp"
    QP = "qp"
    NLP = "nlp"
    MINLP = "minlp"


def _check_number(value: float, what: str) -> float:
    if math.isnan(value):
        raise ValueError(f"{what} is NaN; use a finite number (or +/-inf for a free bound)")
    return value


class QuadraticTerm(BaseModel):
    """One term ``coefficient * var1 * var2`` of a quadratic objective or constraint."""

    model_config = ConfigDict(frozen=True)

    var1: str
    var2: str
    coefficient: float

    @field_validator("coefficient")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError(f"quadratic coefficient must be finite, got {value}")
        return value


class Variable(BaseModel):
    """A decision variable: name, bounds (``-inf``/``inf`` for free) and type."""

    # JSON keeps infinite bounds as the strings "Infinity"/"-Infinity" (null would not load back).
    model_config = ConfigDict(ser_json_inf_nan="strings")

    name: str = Field(min_length=1)
    lower: float = 0.0
    upper: float = INF
    type: VarType = VarType.CONTINUOUS

    @model_validator(mode="after")
    def _check_bounds(self) -> Variable:
        _check_number(self.lower, f"lower bound of {self.name!r}")
        _check_number(self.upper, f"upper bound of {self.name!r}")
        if self.type is VarType.BINARY:
            if self.upper == INF:
                self.upper = 1.0
            if self.lower < 0 or self.upper > 1:
                raise ValueError(
                    f"binary variable {self.name!r} has bounds [{self.lower}, {self.upper}]; "
                    "binary bounds must lie within [0, 1] (use type='integer' for wider ranges)"
                )
        if self.lower > self.upper:
            raise ValueError(
                f"variable {self.name!r} has lower bound {self.lower} > upper bound "
                f"{self.upper}; swap them or fix the data"
            )
        if self.lower == INF or self.upper == -INF:
            raise ValueError(
                f"variable {self.name!r} has an empty domain [{self.lower}, {self.upper}]"
            )
        return self

    @property
    def is_integral(self) -> bool:
        """True for integer and binary variables."""
        return self.type is not VarType.CONTINUOUS


class Constraint(BaseModel):
    """``sum(coefficients[v] * v) + sum(quadratic terms)  <sense>  rhs``."""

    name: str = Field(min_length=1)
    coefficients: dict[str, float] = Field(default_factory=dict)
    sense: ConstraintSense = ConstraintSense.LE
    rhs: float = 0.0
    quadratic: list[QuadraticTerm] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_numbers(self) -> Constraint:
        for var, coef in self.coefficients.items():
            if not math.isfinite(coef):
                raise ValueError(
                    f"constraint {self.name!r} has coefficient {coef} for {var!r}; "
                    "coefficients must be finite"
                )
        if not math.isfinite(self.rhs):
            raise ValueError(
                f"constraint {self.name!r} has right-hand side {self.rhs}; it must be finite "
                "(drop the constraint or use a variable bound instead)"
            )
        return self

    def activity(self, values: Mapping[str, float]) -> float:
        """Left-hand side value at ``values`` (missing variables count as 0)."""
        total = sum(coef * values.get(var, 0.0) for var, coef in self.coefficients.items())
        for term in self.quadratic:
            total += term.coefficient * values.get(term.var1, 0.0) * values.get(term.var2, 0.0)
        return total

    def violation(self, values: Mapping[str, float]) -> float:
        """How far ``values`` are from satisfying this constraint (0 when satisfied)."""
        lhs = self.activity(values)
        if self.sense is ConstraintSense.LE:
            return max(0.0, lhs - self.rhs)
        if self.sense is ConstraintSense.GE:
            return max(0.0, self.rhs - lhs)
        return abs(lhs - self.rhs)


class Model(BaseModel):
    """A solver-neutral optimization model (LP, MILP, QP, QCQP, MIQP, MIQCP)."""

    name: str = "model"
    variables: list[Variable] = Field(default_factory=list)
    constraints: list[Constraint] = Field(default_factory=list)
    sense: ObjectiveSense = ObjectiveSense.MINIMIZE
    objective: dict[str, float] = Field(default_factory=dict)
    objective_quadratic: list[QuadraticTerm] = Field(default_factory=list)
    objective_constant: float = 0.0

    # Name caches that keep add_variable/add_constraint O(1); rebuilt whenever the lists'
    # lengths no longer match (lists edited directly) and by validate_model().
    _var_index: dict[str, int] = PrivateAttr(default_factory=dict)
    _con_names: set[str] = PrivateAttr(default_factory=set)

    @model_validator(mode="after")
    def _check_references(self) -> Model:
        self.validate_model()
        return self

    # -- building --------------------------------------------------------------------------

    def add_variable(
        self,
        name: str,
        lower: float = 0.0,
        upper: float = INF,
        type: VarType | str = VarType.CONTINUOUS,
    ) -> Variable:
        """Append a variable and return it; raises `ModelError` if the name is taken."""
        index = self._index()
        if name in index:
            raise ModelError(
                f"variable {name!r} already exists in model {self.name!r}; "
                "variable names must be unique"
            )
        try:
            var = Variable(name=name, lower=lower, upper=upper, type=VarType(type))
        except ValueError as err:
            raise ModelError(str(err)) from err
        self.variables.append(var)
        index[name] = len(self.variables) - 1
        return var

    def add_constraint(
        self,
        name: str,
        coefficients: Mapping[str, float],
        sense: ConstraintSense | str,
        rhs: float,
        quadratic: Iterable[QuadraticTerm | tuple[str, str, float]] = (),
    ) -> Constraint:
        """Append a constraint over existing variables and return it."""
        try:
            con = Constraint(
                name=name,
                coefficients=dict(coefficients),
                sense=ConstraintSense(sense),
                rhs=rhs,
                quadratic=[_as_term(t) for t in quadratic],
            )
        except ValueError as err:
            raise ModelError(str(err)) from err
        self._check_known(self._index(), con.coefficients, con.quadratic, f"constraint {name!r}")
        if len(self._con_names) != len(self.constraints):
            self._con_names = {c.name for c in self.constraints}
        if name in self._con_names:
            raise ModelError(
                f"constraint {name!r} already exists in model {self.name!r}; "
                "constraint names must be unique"
            )
        self.constraints.append(con)
        self._con_names.add(name)
        return con

    def set_objective(
        self,
        coefficients: Mapping[str, float],
        sense: ObjectiveSense | str = ObjectiveSense.MINIMIZE,
        constant: float = 0.0,
        quadratic: Iterable[QuadraticTerm | tuple[str, str, float]] = (),
    ) -> None:
        """Replace the objective."""
        terms = [_as_term(t) for t in quadratic]
        self._check_known(self._index(), coefficients, terms, "the objective")
        self.objective = dict(coefficients)
        self.objective_quadratic = terms
        self.objective_constant = float(constant)
        self.sense = ObjectiveSense(sense)

    # -- queries ---------------------------------------------------------------------------

    def variable_index(self) -> dict[str, int]:
        """Map variable name -> position in `variables` (a fresh dict the caller may keep)."""
        return dict(self._index())

    def _index(self) -> dict[str, int]:
        if len(self._var_index) != len(self.variables):
            self._var_index = {v.name: i for i, v in enumerate(self.variables)}
        return self._var_index

    def variable(self, name: str) -> Variable:
        """The variable called ``name`` (raises `ModelError` if absent)."""
        for var in self.variables:
            if var.name == name:
                return var
        raise ModelError(f"model {self.name!r} has no variable {name!r}")

    @property
    def is_mip(self) -> bool:
        """True when some variable is integer or binary."""
        return any(v.is_integral for v in self.variables)

    @property
    def has_quadratic_objective(self) -> bool:
        """True when the objective has a nonzero quadratic term."""
        return any(t.coefficient != 0 for t in self.objective_quadratic)

    @property
    def has_quadratic_constraints(self) -> bool:
        """True when some constraint has a nonzero quadratic term."""
        return any(t.coefficient != 0 for c in self.constraints for t in c.quadratic)

    @property
    def problem_class(self) -> Capability:
        """The capability a backend needs to solve this model."""
        quadratic = self.has_quadratic_objective or self.has_quadratic_constraints
        if self.is_mip:
            return Capability.MINLP if quadratic else Capability.MILP
        if self.has_quadratic_constraints:
            return Capability.NLP
        return Capability.QP if quadratic else Capability.LP

    def objective_value(self, values: Mapping[str, float]) -> float:
        """Objective (constant included) at ``values``; missing variables count as 0."""
        total = self.objective_constant
        total += sum(c * values.get(v, 0.0) for v, c in self.objective.items())
        for t in self.objective_quadratic:
            total += t.coefficient * values.get(t.var1, 0.0) * values.get(t.var2, 0.0)
        return total

    def max_violation(self, values: Mapping[str, float], *, integrality: bool = True) -> float:
        """Largest bound, constraint (and integrality) violation of ``values``; 0 if feasible."""
        worst = 0.0
        for var in self.variables:
            x = values.get(var.name, 0.0)
            worst = max(worst, var.lower - x, x - var.upper)
            if integrality and var.is_integral:
                worst = max(worst, abs(x - round(x)))
        for con in self.constraints:
            worst = max(worst, con.violation(values))
        return worst

    def is_feasible(self, values: Mapping[str, float], tol: float = 1e-6) -> bool:
        """True when ``values`` satisfy bounds, constraints and integrality within ``tol``."""
        return self.max_violation(values) <= tol

    # -- validation ------------------------------------------------------------------------

    def validate_model(self) -> None:
        """Raise `ModelError` naming the first problem: duplicate names or unknown variables.

        Runs on construction; call it again after mutating the lists directly.
        """
        known: dict[str, int] = {}
        for i, var in enumerate(self.variables):
            if var.name in known:
                raise ModelError(
                    f"variable {var.name!r} is defined twice in model "
                    f"{self.name!r}; variable names must be unique"
                )
            known[var.name] = i
        self._var_index = known
        seen: set[str] = set()
        for con in self.constraints:
            if con.name in seen:
                raise ModelError(
                    f"constraint {con.name!r} is defined twice in model "
                    f"{self.name!r}; constraint names must be unique"
                )
            seen.add(con.name)
            self._check_known(known, con.coefficients, con.quadratic, f"constraint {con.name!r}")
        self._con_names = seen
        self._check_known(known, self.objective, self.objective_quadratic, "the objective")
        if not math.isfinite(self.objective_constant):
            raise ModelError(f"objective constant must be finite, got {self.objective_constant}")
        for name, coef in self.objective.items():
            if not math.isfinite(coef):
                raise ModelError(f"objective coefficient of {name!r} is {coef}; it must be finite")

    def _check_known(
        self,
        known: Mapping[str, int],
        coefficients: Mapping[str, float],
        terms: Iterable[QuadraticTerm],
        where: str,
    ) -> None:
        names = list(coefficients) + [n for t in terms for n in (t.var1, t.var2)]
        for var in names:
            if var not in known and var not in {v.name for v in self.variables}:
                raise ModelError(
                    f"{where} uses variable {var!r}, which model {self.name!r} does not define; "
                    "add it with Model.add_variable() first"
                )


def _as_term(term: QuadraticTerm | tuple[str, str, float] | Any) -> QuadraticTerm:
    if isinstance(term, QuadraticTerm):
        return term
    try:
        var1, var2, coef = term
        return QuadraticTerm(var1=var1, var2=var2, coefficient=coef)
    except (TypeError, ValueError) as err:
        raise ModelError(
            f"quadratic term {term!r} must be QuadraticTerm(var1, var2, coefficient) or a "
            f"(var1, var2, coefficient) tuple: {err}"
        ) from err
