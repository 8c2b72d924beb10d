"""logistic_gee and logistic_glmm against R (geepack 1.3.9, lme4 1.1-31).

Reference: tests/reference/gee_logistic.R wrote tests/reference/gee_logistic.json. The
Mancl-DeRouen standard errors there are computed by explicit matrix algebra in R from geepack's
fit (the same R routine reproduces geepack's own san.se exactly, which checks it).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cartlens.failure.glmm import logistic_glmm
from cartlens.stats.gee import logistic_gee

REF = json.loads((Path(__file__).parents[1] / "reference" / "gee_logistic.json").read_text())
DATA = pd.DataFrame(REF["data"])
WHY = f"R {REF['r_version']}, geepack {REF['geepack']}, lme4 {REF['lme4']}: {REF['call']}"


@pytest.mark.parametrize("fit", ["multivariable", "univariable_bulky"])
def test_gee_matches_geepack_and_hand_mancl_derouen(fit: str) -> None:
    ref = REF[fit]
    names = ["(Intercept)", *ref["terms"]]
    br = logistic_gee(DATA, "y", ref["terms"], "patient")                       # default: bias_reduced
    rob = logistic_gee(DATA, "y", ref["terms"], "patient", cov_type="robust")
    assert br.alpha == pytest.approx(ref["alpha"], abs=1e-6), WHY
    # geepack stops at its own tolerance; 1e-5 on the log-odds scale is far below any reported digit
    assert [br.coef[n] for n in names] == pytest.approx(ref["coef"], abs=1e-5), WHY
    assert [rob.se[n] for n in names] == pytest.approx(ref["san_se"], rel=1e-4), WHY
    assert [br.se[n] for n in names] == pytest.approx(ref["md_se"], rel=1e-4), WHY
    assert [br.cov[n][n] for n in names] == pytest.approx(np.square(ref["md_se"]), rel=2e-4), WHY
    assert br.n_groups == 60 and br.n_obs == len(DATA) and br.n_events == int(DATA["y"].sum())


def test_gee_or_and_wald_interval_are_exp_of_coef() -> None:
    res = logistic_gee(DATA, "y", ["bulky"], "patient")
    row = res.to_dict()["terms"]["bulky"]
    b, s = REF["univariable_bulky"]["coef"][1], REF["univariable_bulky"]["md_se"][1]
    assert row["or"] == pytest.approx(np.exp(b), rel=1e-4)
    assert row["or_lower"] == pytest.approx(np.exp(b - 1.959963984540054 * s), rel=1e-4)
    assert row["or_upper"] == pytest.approx(np.exp(b + 1.959963984540054 * s), rel=1e-4)


def test_gee_rejects_non_binary_outcome() -> None:
    bad = DATA.assign(y=DATA["y"] * 2)
    with pytest.raises(ValueError, match="must be 0/1"):
        logistic_gee(bad, "y", ["bulky"], "patient")


def test_gee_names_missing_column() -> None:
    with pytest.raises(ValueError, match=r"\['suv'\] not in the data"):
        logistic_gee(DATA, "y", ["suv"], "patient")


@pytest.mark.parametrize("fit", ["multivariable", "univariable_bulky"])
def test_glmm_matches_glmer_nagq25(fit: str) -> None:
    ref = REF[fit]
    names = ["(Intercept)", *ref["terms"]]
    res = logistic_glmm(DATA, "y", ref["terms"], "patient", n_agq=25)
    assert res.converged
    assert [res.coef[n] for n in names] == pytest.approx(ref["glmer_coef"], abs=1e-4), WHY
    assert [res.se[n] for n in names] == pytest.approx(ref["glmer_se"], rel=1e-3), WHY
    assert res.sd_intercept == pytest.approx(ref["glmer_sd"], rel=1e-4), WHY
    assert res.loglik == pytest.approx(ref["glmer_loglik"], abs=1e-6), WHY


def test_glmm_conditional_or_further_from_one_than_marginal() -> None:
    """Neuhaus 1991: with a random intercept, |beta_conditional| > |beta_marginal| (spec §2.5)."""
    ref = REF["multivariable"]
    gee = logistic_gee(DATA, "y", ref["terms"], "patient")
    glmm = logistic_glmm(DATA, "y", ref["terms"], "patient")
    for t in ref["terms"]:
        assert abs(glmm.coef[t]) > abs(gee.coef[t])


def test_glmm_matches_glmer_with_a_large_patient_effect() -> None:
    """SD about 2 and many clusters with all-0 or all-1 outcomes: the cluster modes are far from 0."""
    ref = REF["glmm_hard"]
    res = logistic_glmm(pd.DataFrame(ref["data"]), "y", ["bulky"], "patient", n_agq=25)
    assert [res.coef["(Intercept)"], res.coef["bulky"]] == pytest.approx(ref["glmer_coef"], abs=1e-4), WHY
    assert [res.se["(Intercept)"], res.se["bulky"]] == pytest.approx(ref["glmer_se"], rel=1e-3), WHY
    assert res.sd_intercept == pytest.approx(ref["glmer_sd"], rel=1e-4), WHY
    assert res.loglik == pytest.approx(ref["glmer_loglik"], abs=1e-6), WHY
