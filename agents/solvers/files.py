"""Read and write the neutral `Model` as MPS, CPLEX-LP or JSON files.

Parsing MPS and LP is delegated to solver libraries that implement the formats in full:
HiGHS (highspy) reads and writes linear models and quadratic objectives; models with
quadratic constraints are written by SCIP (pyscipopt), which HiGHS cannot represent. JSON is
the model's own pydantic serialization (lossless, including names and infinite bounds).
"""

from __future__ import annotations

from pathlib import Path

from agents.solvers.errors import ModelFormatError
from agents.solvers.model import Model

_FORMATS = {".mps": "mps", ".lp": "lp", ".json": "json"}


def _format_of(path: Path) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_FORMATS))
        raise ModelFormatError(
            f"cannot tell the format of {str(path)!r} from its suffix; use one of {known}"
        )
    return fmt


def read_model(path: str | Path) -> Model:
    """Read an MPS (fixed or free), CPLEX-LP or JSON file into a neutral `Model`."""
    path = Path(path)
    fmt = _format_of(path)
    if not path.is_file():
        raise ModelFormatError(f"model file {str(path)!r} does not exist")
    if fmt == "json":
        try:
            return Model.model_validate_json(path.read_text())
        except ValueError as err:
            raise ModelFormatError(f"{path} is not a valid model JSON file: {err}") from err
    try:
        from agents.solvers.highs import _highspy, model_from_highs, new_highs
    except ImportError as err:  # pragma: no cover - highspy is a core solver dependency
        raise ModelFormatError(
            "reading MPS/LP files needs highspy: pip install 'optoforge[solvers]'"
        ) from err
    h = new_highs()
    status = h.readModel(str(path))
    try:
        if status != _highspy().HighsStatus.kError:
            model = model_from_highs(h, name=path.stem)
            if model.variables:
                return model
        # HiGHS has no quadratic constraints; SCIP reads those (and is slower on big files).
        # HiGHS also reads text that is no model at all as an empty model: SCIP must agree.
        model = _read_with_scip(path)
        if model is not None and not model.variables:
            model = None
    except ValueError as err:
        raise ModelFormatError(f"{path} parsed, but does not form a valid model: {err}") from err
    if model is None:
        raise ModelFormatError(
            f"neither HiGHS nor SCIP could parse {str(path)!r} as {fmt.upper()}; check the "
            "file's syntax (free or fixed MPS, CPLEX LP)"
        )
    return model


def _read_with_scip(path: Path) -> Model | None:
    try:
        from pyscipopt import Model as ScipModel
    except ImportError:
        return None
    from agents.solvers.scip import model_from_scip

    scip = ScipModel()
    scip.hideOutput(True)
    try:
        scip.readProblem(str(path))
    except Exception:
        return None
    return model_from_scip(scip, name=path.stem)


def write_model(model: Model, path: str | Path) -> Path:
    """Write ``model`` as MPS, CPLEX-LP or JSON (chosen by the suffix); returns the path."""
    path = Path(path)
    fmt = _format_of(path)
    model.validate_model()
    if fmt == "json":
        path.write_text(model.model_dump_json(indent=1))
        return path
    try:
        if model.has_quadratic_constraints:
            _write_with_scip(model, path)
        else:
            _write_with_highs(model, path)
    except ModelFormatError:
        raise
    except Exception as err:  # no library exception reaches the caller
        raise ModelFormatError(
            f"could not write {str(path)!r}: {type(err).__name__}: {err}"
        ) from err
    if not path.is_file():
        raise ModelFormatError(f"the solver library did not write {str(path)!r}")
    return path


def _write_with_highs(model: Model, path: Path) -> None:
    from agents.solvers.highs import _highspy, model_to_highs, new_highs

    h = new_highs()
    model_to_highs(model, h)
    status = h.writeModel(str(path))
    if status == _highspy().HighsStatus.kError:
        raise ModelFormatError(f"HiGHS could not write {str(path)!r}")


def _write_with_scip(model: Model, path: Path) -> None:
    try:
        from pyscipopt import Model as ScipModel
    except ImportError as err:
        raise ModelFormatError(
            "writing models with quadratic constraints needs pyscipopt: "
            "pip install 'optoforge[solvers]'"
        ) from err
    from agents.solvers.scip import model_to_scip

    scip = ScipModel(model.name)
    scip.hideOutput(True)
    model_to_scip(model, scip)
    scip.writeProblem(str(path), trans=False, verbose=False)
