"""coxph: separation, collinearity and bad input are reported clearly (never silently)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cartlens.stats.cox import CoxConvergenceWarning, coxph

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import load
except ImportError:
    from _survival_ref import load  # type: ignore[no-redef]

REF = load("survival_cox")


def test_separation_warns_like_r() -> None:
    """R: 'Loglik converged before variable 1 ; coefficient may be infinite.' (survival_cox.R)."""
    sep = REF["separation"]
    data = sep["data"]
    assert "coefficient may be infinite" in sep["warning"]
    with pytest.warns(CoxConvergenceWarning, match=r"\['x'\]; coefficient may be infinite"):
        fit = coxph(data["time"], data["status"], np.column_stack([data["x"], data["z"]]), names=["x", "z"])
    assert fit.infinite == ("x",)
    np.testing.assert_allclose(fit.coef, sep["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.loglik, sep["loglik"], rtol=1e-9)
    assert fit.iterations == sep["iter"]


def test_collinear_covariates_are_named() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(40, 2))
    frame = pd.DataFrame({"age": x[:, 0], "sex": x[:, 1], "age2": 2 * x[:, 0] + 1})
    with pytest.raises(ValueError, match=r"\['age2'\] are collinear"):
        coxph(rng.integers(1, 50, 40), rng.integers(0, 2, 40), frame)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"event": np.zeros(5)}, "no events"),
    ({"ties": "exact"}, "ties must be 'efron' or 'breslow'"),
    ({"X": np.ones((4, 1))}, "X: 4 rows but time has 5"),
    ({"X": pd.DataFrame({"mtv": [1.0, np.nan, 2.0, 3.0, 4.0]})}, r"X\[mtv\]: element 1 is nan"),
    ({"event": [1, 2, 1, 0, 1]}, r"event: element 1 is 2"),
    ({"init": [0.0, 0.0]}, "init: 2 values for 1 covariates"),
])
def test_bad_input(kwargs: dict, message: str) -> None:
    args = {"time": [5.0, 3.0, 8.0, 1.0, 9.0], "event": [1, 1, 0, 1, 1], "X": np.array([[1.0], [0.5], [2.0], [0.1], [3.0]])}
    args |= kwargs
    with pytest.raises(ValueError, match=message):
        coxph(args.pop("time"), args.pop("event"), args.pop("X"), **args)


def test_running_out_of_iterations_as_r() -> None:
    """Monotone likelihood on 6 subjects: R stops after iter.max (reports iter 21) with a diagonal variance."""
    ref = REF["nonconverged"]
    data = ref["data"]
    assert "did not converge" in ref["warning"]
    x = np.column_stack([data["x1"], data["x2"], data["x3"]])
    with pytest.warns(CoxConvergenceWarning, match="did not converge"):
        fit = coxph(data["time"], data["status"], x)
    assert not fit.converged and fit.iterations == ref["iter"]
    np.testing.assert_allclose(fit.coef, ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(fit.var, np.array(ref["var"]), rtol=1e-5)
    np.testing.assert_allclose(fit.loglik, ref["loglik"], rtol=1e-6)
    np.testing.assert_allclose(fit.score_stat, ref["score"], rtol=1e-9)


def test_r_cholesky_routines() -> None:
    """cholesky2/chsolve2/chinv2: LAPACK's answer for an SPD matrix; zero step/row for a redundant column."""
    from cartlens.stats import _rchol

    rng = np.random.default_rng(7)
    a = rng.normal(size=(6, 4))
    spd = a.T @ a
    y = rng.normal(size=4)
    factor, rank = _rchol.cholesky2(spd, 1e-12)
    assert rank == 4
    np.testing.assert_allclose(_rchol.chsolve2(factor, y), np.linalg.solve(spd, y), rtol=1e-10)
    np.testing.assert_allclose(_rchol.chinv2(factor), np.linalg.inv(spd), rtol=1e-10)
    # column 2 = column 0 + column 1: rank 3, the redundant column gets 0 and the rest solves the 3 x 3 system
    b = np.column_stack([a[:, 0], a[:, 1], a[:, 0] + a[:, 1], a[:, 3]])
    sing = b.T @ b
    factor, rank = _rchol.cholesky2(sing, 1e-9)
    assert rank == 3
    keep = [0, 1, 3]
    step = _rchol.chsolve2(factor, y)
    assert step[2] == 0.0
    inv = _rchol.chinv2(factor)
    assert np.all(inv[2] == 0.0) and np.all(inv[:, 2] == 0.0)
    np.testing.assert_allclose(inv[np.ix_(keep, keep)], np.linalg.inv(sing[np.ix_(keep, keep)]), rtol=1e-8)
