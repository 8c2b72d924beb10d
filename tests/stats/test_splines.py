"""cartlens.stats.splines against R (tests/reference/prognostic_splines.R -> .json).

Knots: rms::rcs / Hmisc::rcspline.eval (Hmisc 4.8-0). Fits: survival::coxph on the same basis
(rms::cph stops at eps 1e-4, so its coefficients are not a converged reference).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartlens.stats.splines import linear_spline_cox, lsp_basis, rcs_basis, rcs_knots, spline_cox

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_splines.json").read_text())
WHY = f"R {REF['r_version']}, rms {REF['rms']}, Hmisc {REF['Hmisc']}"
LUNG = {k: np.asarray(v, float) for k, v in REF["lung"].items()}


@pytest.mark.parametrize("case", REF["knot_cases"], ids=lambda c: c["name"])
def test_knots_match_rms(case: dict) -> None:
    for k, expected in zip(case["k"], case["knots"]):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = rcs_knots(case["x"], k)
        assert got.tolist() == pytest.approx(expected, rel=1e-12, abs=1e-12), f"{WHY}: k={k}"


def test_knot_rules_warn_as_r() -> None:
    few = next(c for c in REF["knot_cases"] if c["name"] == "few_unique")
    with pytest.warns(UserWarning, match="knots set to 4 interior values"):
        rcs_knots(few["x"], 4)
    nodes = next(c for c in REF["knot_cases"] if c["name"] == "rotterdam_nodes_ties")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                   # R gives 3 knots silently here
        assert rcs_knots(nodes["x"], 4).tolist() == [0, 2, 12]          # spec §5.1: fewer knots than asked


def test_basis_matches_rcspline_eval() -> None:
    got = rcs_basis(REF["basis_x"], REF["basis_knots"])
    assert got == pytest.approx(np.asarray(REF["basis"]), rel=1e-10, abs=1e-12), WHY


def test_basis_is_linear_beyond_outer_knots() -> None:
    knots = [1.0, 2.0, 4.0, 7.0]
    x = np.array([8.0, 9.0, 10.0, 11.0])
    second_diff = np.diff(rcs_basis(x, knots), n=2, axis=0)
    assert second_diff == pytest.approx(np.zeros_like(second_diff), abs=1e-12)


def _fit(name: str):
    f = REF["fits"][name]
    adjust = f["adjust"] if isinstance(f["adjust"], list) else [f["adjust"]]
    cov = pd.DataFrame({a: LUNG[a.replace(".", "_")] for a in adjust}) if adjust else None
    spec = f["spec"]
    if spec["type"] == "rcs":
        res = spline_cox(LUNG["time"], LUNG["event"], LUNG["age"], knots=len(spec["knots"]), covariates=cov,
                         name="age")
        assert list(res.knots) == pytest.approx(spec["knots"], rel=1e-12)
    else:
        res = linear_spline_cox(LUNG["time"], LUNG["event"], LUNG["age"], spec["knot"], covariates=cov, name="age")
    return res, f


@pytest.mark.parametrize("name", sorted(REF["fits"]))
def test_spline_cox_matches_r(name: str) -> None:
    res, f = _fit(name)
    assert res.fit.coef == pytest.approx(f["coef"], rel=1e-6), WHY
    assert res.fit.se == pytest.approx(f["se"], rel=1e-6), WHY
    assert list(res.fit.loglik) == pytest.approx(f["loglik"], rel=1e-9), WHY
    assert res.linear_loglik == pytest.approx(f["linear_loglik"], rel=1e-9), WHY
    assert res.wald_test("overall")["chisq"] == pytest.approx(f["wald_overall"], rel=1e-6), WHY
    assert res.wald_test("nonlinear")["chisq"] == pytest.approx(f["wald_nonlinear"], rel=1e-6), WHY
    curve = res.log_hr(f["grid"], f["ref"])
    assert curve["log_hr"].to_numpy() == pytest.approx(f["contrast"], rel=1e-6, abs=1e-12), WHY
    assert curve["se"].to_numpy() == pytest.approx(f["contrast_se"], rel=1e-6, abs=1e-12), WHY
    assert curve["lower"].to_numpy() == pytest.approx(f["contrast_lower"], rel=1e-6, abs=1e-12), WHY
    assert curve["upper"].to_numpy() == pytest.approx(f["contrast_upper"], rel=1e-6, abs=1e-12), WHY


def test_lsp_parametrisations_are_equivalent() -> None:
    """Segmented γ1 = β1 (slope below), γ2 = β1 + β2 (slope above); same likelihood and curve (§5.3)."""
    trunc, f = _fit("lsp65_sex")
    seg = linear_spline_cox(LUNG["time"], LUNG["event"], LUNG["age"], 65, parametrisation="segmented",
                            covariates=pd.DataFrame({"sex": LUNG["sex"]}), name="age")
    b1, b2 = f["coef"][:2]
    assert seg.fit.coef[:2] == pytest.approx([b1, b1 + b2], rel=1e-6)
    assert seg.fit.loglik[1] == pytest.approx(f["loglik"][1], rel=1e-10)
    assert seg.wald_test("nonlinear")["chisq"] == pytest.approx(f["wald_nonlinear"], rel=1e-6)
    grid = [40, 65, 80]
    assert seg.log_hr(grid, 63)["log_hr"].to_numpy() == pytest.approx(trunc.log_hr(grid, 63)["log_hr"].to_numpy())
    assert lsp_basis([60.0, 70.0], 65, parametrisation="segmented").tolist() == [[60.0, 0.0], [65.0, 5.0]]


def test_cli_contract_keys() -> None:
    res, _ = _fit("rcs3")
    out = res.to_dict(grid=[50, 60, 70])
    assert {"knots", "loglik", "log_hr_vs_first_grid_point"} <= out.keys()
    assert out["log_hr_vs_first_grid_point"][0] == 0.0
    assert len(out["loglik"]) == 2


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_knots": 2}, r"n_knots must be >= 3"),
    ({"x": [1.0, 2.0, 3.0]}, r"< 6 non-missing"),
])
def test_knot_errors(kwargs: dict, message: str) -> None:
    args = {"x": np.arange(50.0), "n_knots": 4} | kwargs
    with pytest.raises(ValueError, match=message):
        rcs_knots(args["x"], args["n_knots"])
