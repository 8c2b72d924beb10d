"""Section 1, Cohort: Table 1 by cohort, median follow-up by reverse Kaplan-Meier, median PFS/OS (95 % CI).

Reuses :func:`cartlens.report.cohort.cohort_section` (Table 1 with Mann-Whitney / chi-square / Fisher p,
reverse-KM follow-up after Schemper & Smith, Control Clin Trials 1996;17:343) and adds, on the demo cohort,
the generator's calibration targets (demo_cohort.md) beside the recovered values.
Mirrors seed 001 (CAR-IMPI, Blood Cancer J 2025;15:144, Table 1 and "Follow-up and survival").
Also the pre-infusion scores of every patient (``cartlens.scores.score_patients``) summarised per cohort.
"""

from __future__ import annotations

from typing import Any

from cartlens.report.cohort import cohort_section
from cartlens.stats.km import kaplan_meier, reverse_km_median_followup
from cartlens.study.common import SectionResult, planted_table, surv_data, tidy

TITLE = "Cohort"
# demo_cohort.md "Outcomes": the generator is tuned to these (seed 001 published values).
DEMO_TARGETS = {"median PFS, months (all)": 7.6, "median OS, months (all)": 34.0,
                "median follow-up, months (development)": 28.0, "median follow-up, months (validation)": 45.0}


def _recovered(frame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, sub in (("all", frame), *frame.groupby("cohort_label")):
        os_ = surv_data(sub, "os")
        fu = reverse_km_median_followup(os_["_t"].to_numpy(), os_["_e"].to_numpy())[0]
        pfs = surv_data(sub, "pfs")
        out[str(name)] = {"n": len(sub), "median_followup_months": fu,
                          "median_pfs_months": kaplan_meier(pfs["_t"], pfs["_e"]).median()[0],
                          "median_os_months": kaplan_meier(os_["_t"], os_["_e"]).median()[0]}
    return out


def build(ctx) -> SectionResult:
    sec = cohort_section(ctx.tables, truth=ctx.truth)
    values = _recovered(ctx.frame)
    sec.notes.insert(0, "Method: Table 1 as CAR-IMPI Table 1 (seed 001); median follow-up by reverse Kaplan-Meier "
                        "(Schemper & Smith 1996); median PFS/OS by Kaplan-Meier with log-transformed 95 % CI "
                        "(R survfit default). PFS and OS from infusion.")
    already = any("planted" in name or "generated" in name for name in sec.tables)
    if ctx.truth is not None and not already:      # report.cohort may show the targets itself (demo engineer)
        dev, val = ctx.plan.cohorts.development, ctx.plan.cohorts.validation
        rows = [("median PFS, months (all)", DEMO_TARGETS["median PFS, months (all)"],
                 values["all"]["median_pfs_months"], "generator calibration target"),
                ("median OS, months (all)", DEMO_TARGETS["median OS, months (all)"],
                 values["all"]["median_os_months"], "generator calibration target"),
                ("median follow-up, months (development)", DEMO_TARGETS["median follow-up, months (development)"],
                 values.get(dev, {}).get("median_followup_months"), "reverse Kaplan-Meier"),
                ("median follow-up, months (validation)", DEMO_TARGETS["median follow-up, months (validation)"],
                 values.get(val, {}).get("median_followup_months"), "reverse Kaplan-Meier")]
        sec.tables["cohort_planted"] = planted_table(rows)
        sec.captions["cohort_planted"] = "Synthetic cohort: calibration targets vs recovered"
    scores = _scores_table(ctx)
    if scores is not None:
        sec.tables["scores_by_cohort"] = scores
        sec.captions["scores_by_cohort"] = ("Pre-infusion scores by cohort (labs of day -14 ... -3, before "
                                            "lymphodepletion; IMPI marked unverified)")
        values["scores_computable"] = {str(r["score"]): int(r["computable"]) for _, r in scores.iterrows()
                                       if r["cohort"] == ctx.plan.cohorts.development}
    return SectionResult(sec, values)


def _scores_table(ctx):  # type: ignore[no-untyped-def]
    """Every computable pre-infusion score per cohort (cartlens.scores.score_patients / scores_by_cohort):
    n computable, median (Q1, Q3) and the group counts (scores.md; CAR-HEMATOTOX, Rejeski Blood 2021)."""
    from cartlens.scores import score_patients, scores_by_cohort

    patients = ctx.tables.get("patients")
    if patients is None or patients.empty:
        return None
    table = scores_by_cohort(score_patients(ctx.tables), patients, by=ctx.plan.cohorts.column)
    table["groups"] = table["groups"].map(lambda g: "; ".join(f"{k}: {v}" for k, v in (g or {}).items()))
    table.loc[table["score"] == "impi", "score"] = "impi (unverified coefficients)"
    return tidy(table)
