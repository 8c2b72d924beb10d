"""Uno's C, time-dependent AUC, batched Cox/concordance and bootstrap optimism against R
(tests/reference/prognostic_validation.R -> .json)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cartlens.stats.concordance import harrell_c
from cartlens.stats.cox import coxph
from cartlens.stats.validation import (
    bootstrap_optimism,
    bootstrap_procedure,
    concordance_batch,
    cox_batch_fit,
    time_dependent_auc,
    uno_c,
)

REF = json.loads((Path(__file__).parents[1] / "reference" / "prognostic_validation.json").read_text())
L = REF["lung"]
T, E, LP = np.asarray(L["time"], float), np.asarray(L["event"], int), np.asarray(L["lp"], float)
WHY = f"R {REF['r_version']}, survival {REF['survival']}, rms {REF['rms']}"


def test_uno_c_matches_r_concordance_n_g2() -> None:
    assert uno_c(T, E, LP).c == pytest.approx(L["uno_c"], rel=1e-9), WHY
    assert uno_c(T, E, LP, tau=730).c == pytest.approx(L["uno_c_730"], rel=1e-9), WHY


def test_time_dependent_auc_matches_r_ipcw_formula() -> None:
    res = time_dependent_auc(T, E, LP, L["auc_times"])
    assert res.auc == pytest.approx(L["auc"], rel=1e-9), WHY
    # spec §7.2: scikit-survival (another Ĝ convention) gives 0.6415, 0.5993, 0.6191
    assert res.auc == pytest.approx([0.6415, 0.5993, 0.6191], abs=5e-4)


def test_batched_concordance_counts_match_r() -> None:
    """R concordance(coxph(Surv(time, status) ~ age + sex, lung)): 11910 / 7793 / 311 (spec §4.4)."""
    conc, disc, tied = concordance_batch(T, E, LP[None, :])
    assert (conc[0], disc[0], tied[0]) == (11910, 7793, 311)
    assert (conc[0] + tied[0] / 2) / (conc[0] + disc[0] + tied[0]) == pytest.approx(L["harrell_c"], rel=1e-12)


def test_batched_fit_equals_refit_on_resampled_rows() -> None:
    """A frequency-weighted replicate is the resampled data set: same Efron/Breslow fit, same C."""
    x = np.column_stack([L["age"], L["sex"]]).astype(float)
    w = np.random.default_rng(11).multinomial(T.size, np.full(T.size, 1 / T.size), size=4).astype(float)
    for ties in ("efron", "breslow"):
        beta, ok = cox_batch_fit(T, E, x, w, np.zeros((4, 2)), ties=ties)
        assert ok.all()
        for b in range(4):
            rows = np.repeat(np.arange(T.size), w[b].astype(int))
            ref = coxph(T[rows], E[rows], x[rows], ties=ties, timefix=False)
            assert beta[b] == pytest.approx(ref.coef, rel=1e-8)
            c_batch = concordance_batch(T, E, (x @ beta[b])[None, :], weight=w[b][None, :])
            c_ref = harrell_c(T[rows], E[rows], x[rows] @ beta[b], timefix=False)[0]
            assert (c_batch[0] + c_batch[2] / 2) / sum(c_batch) == pytest.approx(c_ref, rel=1e-12)


def test_bootstrap_optimism_against_rms_validate() -> None:
    """rms::validate(cph(Surv ~ rcs(age, 4) + sex), B = 200, set.seed(123)): apparent indexes exactly,
    optimism within Monte Carlo error (two independent bootstraps)."""
    v = REF["validate"]
    res = bootstrap_optimism(T, E, np.asarray(v["X"]), n_boot=400, seed=2)
    dxy, slope = v["index"].index("Dxy"), v["index"].index("Slope")
    assert res.apparent[1] == pytest.approx(v["apparent"][dxy], rel=1e-9), WHY
    per = 2 * (res.per_replicate["c_boot"] - res.per_replicate["c_orig"])
    se = per.std() * math.sqrt(1 / v["B"] + 1 / res.n_ok)
    assert res.optimism[1] == pytest.approx(v["optimism"][dxy], abs=4 * se), WHY
    se_slope = res.per_replicate["slope"].std() * math.sqrt(1 / v["B"] + 1 / res.n_ok)
    assert res.corrected[2] == pytest.approx(v["corrected"][slope], abs=4 * se_slope), WHY
    assert res.corrected[0] == pytest.approx(res.apparent[0] - res.optimism[0])


def test_bootstrap_is_seeded() -> None:
    x = np.column_stack([L["age"], L["sex"]]).astype(float)
    a = bootstrap_optimism(T, E, x, n_boot=50, seed=5)
    b = bootstrap_optimism(T, E, x, n_boot=50, seed=5)
    assert np.array_equal(a.optimism, b.optimism)
    assert a.to_dict()["indexes"]["C"]["apparent"] == pytest.approx(L["harrell_c"], rel=1e-9)


def test_row_order_invariance_of_uno_and_auc() -> None:
    perm = np.random.default_rng(4).permutation(T.size)
    assert uno_c(T[perm], E[perm], LP[perm]).c == pytest.approx(uno_c(T, E, LP).c, rel=1e-12)
    assert time_dependent_auc(T[perm], E[perm], LP[perm], [365]).auc == pytest.approx(
        time_dependent_auc(T, E, LP, [365]).auc, rel=1e-12)


def test_auc_undefined_without_controls_is_nan_and_null() -> None:
    res = time_dependent_auc(T, E, LP, [T.max() + 1])
    assert math.isnan(res.auc[0]) and res.to_dict()["auc"] == [None]


def test_bad_risk_is_rejected() -> None:
    with pytest.raises(ValueError, match="risk: expected 228 finite values"):
        uno_c(T, E, LP[:-1])


def test_procedure_bootstrap_equals_batched_path_for_a_fixed_design() -> None:
    """Same seeded samples: refitting coxph per replicate gives the batched optimism (independent code path)."""
    x = np.column_stack([L["age"], L["sex"]]).astype(float)

    def procedure(rows: np.ndarray):
        beta = coxph(T[rows], E[rows], x[rows], timefix=False).coef
        return lambda idx: (x[idx] * beta).sum(axis=1)

    fast = bootstrap_optimism(T, E, x, n_boot=30, seed=9)
    slow = bootstrap_procedure(T, E, procedure, n_boot=30, seed=9)
    assert slow.apparent[0] == pytest.approx(fast.apparent[0], rel=1e-12)
    assert slow.optimism[0] == pytest.approx(fast.optimism[0], rel=1e-6, abs=1e-9)


def test_procedure_bootstrap_repeats_a_cutpoint_search() -> None:
    """The cutpoint search is re-run per replicate; the apparent C is Harrell's C of the dichotomy at the
    full-data cutpoint (harrell_c, checked against R concordance by the survival tests)."""
    from cartlens.stats.cutpoint import maxstat

    age = np.asarray(L["age"], float)

    def procedure(rows: np.ndarray):
        cut = maxstat(T[rows], E[rows], age[rows]).cutpoint
        return lambda idx: (age[idx] > cut).astype(float)

    res = bootstrap_procedure(T, E, procedure, n_boot=40, seed=3)
    cut = maxstat(T, E, age).cutpoint
    assert res.apparent[0] == pytest.approx(harrell_c(T, E, (age > cut).astype(float), timefix=False)[0], rel=1e-12)
    assert res.n_ok == 40 and res.per_replicate["c_boot"].size == 40
