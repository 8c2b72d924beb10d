"""CAR-IMPI fitted on the development cohort (Winkelmann M, Raj S et al., Blood Cancer J 2025;15:144; seed 001).

Procedure (survival_stats.md sections 1, 5 and 6):

1. restricted cubic spline of MTV vs log hazard of the plan's endpoint (rms knot placement; Harrell,
   Regression Modeling Strategies, 2nd ed., section 2.4.5);
2. optimal MTV cutpoint by maximally selected log-rank statistics (Lausen & Schumacher, Biometrics
   1992;48:73; p-value by the plan's ``pmethod``, default Lau94);
3. Cox model with a one-knot linear spline of MTV (knot = that cutpoint, or the plan's number), age and
   Ann Arbor stage (stage dummies, reference = lowest stage present): the CAR-IMPI linear predictor;
4. median and tercile cutoffs = type-7 quantiles of the development LP, applied unchanged to validation.

The fitted model is a :class:`cartlens.scores.CarImpi` with provenance ``fitted``; patients are scored with
its ``linear_predictor`` (the same code path as a reviewed coefficient file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cartlens.scores import CarImpi
from cartlens.scores.car_impi import cutoffs_from_development
from cartlens.stats.cutpoint import MaxstatResult, maxstat
from cartlens.stats.riskgroups import RiskGroups, fit_risk_groups
from cartlens.stats.splines import SplineCoxResult, linear_spline_cox, spline_cox
from cartlens.study.common import surv_data

NEEDED = ["mtv_ml", "age", "stage"]


@dataclass(frozen=True)
class CarImpiFit:
    """Everything the section and later sections need from the development fit."""

    endpoint: str
    rcs: SplineCoxResult
    cut: MaxstatResult | None
    knot: float
    lsp: SplineCoxResult
    model: CarImpi
    stage_levels: tuple[int, ...]
    lp: pd.Series                 # every patient with mtv/age/stage (index centre, patient_id)
    median: RiskGroups
    tercile: RiskGroups
    n_dev: int
    events_dev: int
    boot_cuts: np.ndarray | None = None      # maxstat cutpoints of bootstrap resamples (stability)

    def groups(self, scheme: str) -> pd.Series:
        rg = self.median if scheme == "median" else self.tercile
        return pd.Series(rg.labels_of(self.lp.to_numpy()), index=self.lp.index, name=f"car_impi_{scheme}")

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        """Linear-spline + age + stage design of ``frame`` (the columns of the fitted Cox model)."""
        basis = self.lsp.basis(frame["mtv_ml"].to_numpy(float))
        return np.column_stack([basis, frame["age"].to_numpy(float), stage_design(frame, self.stage_levels)[0]])

    def to_dict(self) -> dict[str, Any]:
        c = self.model.coefficients
        return {"endpoint": self.endpoint, "knot_ml": self.knot, "n_dev": self.n_dev, "events_dev": self.events_dev,
                "maxstat": None if self.cut is None else {"cutpoint": self.cut.cutpoint, "statistic":
                                                          self.cut.statistic, "p": self.cut.p,
                                                          "pmethod": self.cut.pmethod},
                "coefficients": {"mtv_per_ml": c["mtv"], "mtv_above_knot_per_ml": c["mtv_above_knot"],
                                 "age_per_year": c["age"], "stage": {str(k): v for k, v in c["stage"].items()}},
                "cutoffs": {"median": self.median.cutpoints[0], "terciles": list(self.tercile.cutpoints)},
                "bootstrap_cutpoints": None if self.boot_cuts is None else
                {"B": int(self.boot_cuts.size), "median": float(np.median(self.boot_cuts)),
                 "q025": float(np.quantile(self.boot_cuts, 0.025)),
                 "q975": float(np.quantile(self.boot_cuts, 0.975))},
                "rcs_nonlinear_wald": self.rcs.wald_test("nonlinear")}


def stage_design(frame: pd.DataFrame, levels: tuple[int, ...] | None = None) -> tuple[np.ndarray, tuple[int, ...]]:
    """0/1 dummies for each stage level but the lowest (treatment contrasts, as R)."""
    stage = frame["stage"].astype(int).to_numpy()
    lv = tuple(sorted(set(stage.tolist()))) if levels is None else levels
    cols = [(stage == s).astype(float) for s in lv[1:]]
    return (np.column_stack(cols) if cols else np.zeros((len(stage), 0))), lv


def bootstrap_cutpoints(t: np.ndarray, e: np.ndarray, x: np.ndarray, options: Any, *, n_boot: int,
                        seed: int) -> np.ndarray:
    """maxstat cutpoints of ``n_boot`` bootstrap resamples: how stable the optimal cutpoint is (the search is
    known to be unstable; Altman DG et al., J Natl Cancer Inst 1994;86:829)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_boot):
        i = rng.integers(0, t.size, t.size)
        if e[i].sum() == 0:
            continue
        try:
            out.append(maxstat(t[i], e[i], x[i], minprop=options.minprop, maxprop=options.maxprop).cutpoint)
        except ValueError:
            continue
    return np.asarray(out, dtype=float)


def fit_car_impi(frame: pd.DataFrame, dev: pd.DataFrame, options: Any, *, seed: int = 0) -> CarImpiFit:
    """Steps 1-4 of the module docstring on the development rows ``dev`` (a subset of ``frame``)."""
    d = surv_data(dev.dropna(subset=NEEDED), options.endpoint)
    if len(d) < 20 or d["_e"].sum() < 5:
        raise ValueError(f"development cohort too small for CAR-IMPI: {len(d)} patients with MTV, age, stage and "
                         f"{options.endpoint.upper()} ({int(d['_e'].sum())} events)")
    t, e, mtv = d["_t"].to_numpy(), d["_e"].to_numpy(), d["mtv_ml"].to_numpy(float)
    rcs = spline_cox(t, e, mtv, knots=options.spline_knots, name="mtv")
    cut, boot = None, None
    if options.knot == "maxstat":
        cut = maxstat(t, e, mtv, pmethod=options.pmethod, minprop=options.minprop, maxprop=options.maxprop)
        knot = float(cut.cutpoint)
        if options.bootstrap > 0:
            boot = bootstrap_cutpoints(t, e, mtv, options, n_boot=min(options.bootstrap, 200), seed=seed)
    else:
        knot = float(options.knot)
    stage_x, levels = stage_design(d)
    cov = pd.DataFrame(np.column_stack([d["age"].to_numpy(float), stage_x]),
                       columns=["age"] + [f"stage{s}" for s in levels[1:]])
    lsp = linear_spline_cox(t, e, mtv, knot, parametrisation="segmented", covariates=cov, name="mtv")
    b = dict(zip(lsp.fit.names, lsp.fit.coef.tolist()))
    stage_terms = {s: (b.get(f"stage{s}", 0.0)) for s in (1, 2, 3, 4)}
    coefs = {"mtv": b["mtv_below"], "mtv_above_knot": b["mtv_above"] - b["mtv_below"], "age": b["age"],
             "stage": stage_terms}
    prov = {"status": "fitted", "source": f"cartlens study: Cox fit on the development cohort "
                                          f"(n = {len(d)}, {int(e.sum())} {options.endpoint.upper()} events)"}
    model0 = CarImpi(coefficients=coefs, provenance=prov, knot=knot)
    scored = frame.dropna(subset=NEEDED)
    lp = pd.Series([model0.linear_predictor(m, a, int(s)) for m, a, s in
                    zip(scored["mtv_ml"], scored["age"], scored["stage"])], index=scored.index, name="car_impi")
    lp_dev = lp.reindex(d.index).to_numpy()
    model = CarImpi(coefficients=coefs, provenance=prov, knot=knot, cutoffs=cutoffs_from_development(lp_dev))
    return CarImpiFit(endpoint=options.endpoint, rcs=rcs, cut=cut, knot=knot, lsp=lsp, model=model,
                      stage_levels=levels, lp=lp, median=fit_risk_groups(lp_dev, scheme="median"),
                      tercile=fit_risk_groups(lp_dev, scheme="tercile"), n_dev=len(d), events_dev=int(e.sum()),
                      boot_cuts=boot)


def baseline_survival(fit: CarImpiFit, horizon: float) -> float:
    """Development ``S0(horizon) = exp(-H0(horizon))`` at LP = 0 (uncentred; R ``basehaz(centered = FALSE)``)."""
    bh = fit.lsp.fit.basehaz(centered=False)
    h = bh.loc[bh["time"] <= horizon, "hazard"]
    return float(np.exp(-(h.iloc[-1] if len(h) else 0.0)))
