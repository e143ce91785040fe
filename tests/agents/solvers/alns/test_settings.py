"""AlnsSettings: one checked set of ALNS knobs, given whole or changed by keyword."""

from __future__ import annotations

import pytest

from agents.solvers.alns import OPERATORS, AlnsError, AlnsSettings, AlnsSolver


def test_keywords_change_a_given_settings_object_and_none_keeps_its_operators() -> None:
    base = AlnsSettings(operators=("rins", "dins"), seed=4)
    solver = AlnsSolver("highs", base, policy="thompson", operators=None)
    assert solver.settings.operators == ("rins", "dins")
    assert (solver.settings.policy, solver.settings.seed) == ("thompson", 4)
    assert AlnsSolver("highs").settings.operators == tuple(OPERATORS)


def test_a_misspelt_or_out_of_range_setting_is_refused_with_the_choices() -> None:
    with pytest.raises(AlnsError, match=r"unknown ALNS setting\(s\) \['polcy'\].*'policy'"):
        AlnsSolver("highs", polcy="ucb")
    with pytest.raises(AlnsError, match="destroy_rate must lie in"):
        AlnsSettings(destroy_rate=1.5)
    with pytest.raises(AlnsError, match="initial_fraction must lie in"):
        AlnsSettings.of(AlnsSettings(), initial_fraction=0.0)
