"""Section 6, Prognostic-factor screen against the catalogue ``prognostic_factors.yaml`` (seeds 001-004).

For every catalogue entry with a PFS or OS endpoint whose factor is computable from the data (rules in
:mod:`.factor_defs`): the univariable Cox HR (95 % CI, Wald) in this cohort (pooled unless the entry belongs
to a cohort of seed 001; post-infusion factors from their landmark) beside the published estimate, and a
forest plot "this cohort vs published" (log scale, reference line at 1).  Published multivariable estimates
are compared with univariable ones here: the table says which is which.  Entries that are not computable, or
whose endpoint is not PFS/OS, are listed with the reason.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from cartlens.report.figures import forest_figure
from cartlens.report.html import Section
from cartlens.stats.km import landmark
from cartlens.study.common import (
    SectionResult,
    cox_row,
    demo_label,
    fmt_p,
    planted_table,
    skipped,
    surv_data,
    tidy,
)
from cartlens.study.data import in_cohort
from cartlens.study.sections.factor_defs import cohort_of, rule_for

TITLE = "Prognostic-factor screen"


def load_catalogue(path: str | None = None) -> list[dict[str, Any]]:
    """The factor catalogue: ``path`` when given, else the copy shipped in ``cartlens/study/catalogue``."""
    if path is None:
        text = resources.files("cartlens.study").joinpath("catalogue/prognostic_factors.yaml").read_text("utf-8")
    else:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    data = yaml.safe_load(text)
    if not isinstance(data, list) or not all(isinstance(e, dict) and "id" in e for e in data):
        raise ValueError(f"{path or 'prognostic_factors.yaml'}: expected a list of entries with an 'id'")
    return data


def _frame(ctx) -> pd.DataFrame:
    f = ctx.frame.copy()
    tox = ctx.tables.get("toxicity")
    if tox is not None and len(tox):
        crs = tox.set_index(["centre", "patient_id"])["crs_grade"]
        f["crs_ge3"] = (crs.reindex(f.index) >= 3).astype(float).where(crs.reindex(f.index).notna())
    return f


def _estimate(ctx, f: pd.DataFrame, entry: dict[str, Any]) -> dict[str, Any]:
    rule = rule_for(entry["id"])
    base = {"id": entry["id"], "factor": entry.get("factor"), "endpoint": entry["endpoint"],
            "published HR": entry.get("estimate") if entry.get("measure") == "HR" else None,
            "published lower": entry.get("ci_low"), "published upper": entry.get("ci_high"),
            "published p": "" if entry.get("p") is None else str(entry.get("p")),
            "published model": entry.get("model"), "source": entry.get("source", "").split(";")[-1].strip()}
    if entry["endpoint"] not in ("PFS", "OS"):
        return {**base, "status": f"endpoint {entry['endpoint']} not screened (PFS/OS only)"}
    if rule is None:
        return {**base, "status": f"not computable from the data model ({entry.get('variable')})"}
    cohort = cohort_of(entry["id"], rule)
    sub = f if cohort is None else in_cohort(f, ctx.plan, cohort)
    if rule.subset is not None:
        sub = sub[rule.subset(sub).fillna(False).astype(bool)]
    d = surv_data(sub, entry["endpoint"].lower())
    x = rule.covariate(d)
    ok = x.notna().to_numpy()
    t, e, xv = d["_t"].to_numpy()[ok], d["_e"].to_numpy()[ok], x.to_numpy(float)[ok]
    if rule.landmark_day is not None and len(t):
        lm = landmark(t * 30.4375, e, float(rule.landmark_day))
        t, e, xv = lm.time / 30.4375, lm.event, xv[lm.kept]
    if len(t) < 10 or np.nanstd(xv) == 0 or e.sum() < 3:
        return {**base, "label": rule.label, "status": f"too few patients/events or no variation ({len(t)} patients)",
                "note": rule.note}
    r = cox_row(t, e, xv, rule.label)
    return {**base, "label": rule.label, "cohort": cohort or "pooled", "n": r["n"], "events": r["events"],
            "HR": r["hr"], "lower": r["lower"], "upper": r["upper"], "p": fmt_p(r["p"]),
            "status": "computed" if r["hr"] is not None else f"not estimable: {r['note']}", "note": rule.note}


def build(ctx) -> SectionResult:
    try:
        cat = load_catalogue(None if ctx.plan.factors.catalogue is None
                             else str(ctx.plan.resolve(ctx.plan.factors.catalogue)))
    except (OSError, ValueError, yaml.YAMLError) as exc:
        return skipped(TITLE, f"factor catalogue unreadable: {exc}")
    f = _frame(ctx)
    rows = [_estimate(ctx, f, e) for e in cat]
    table = pd.DataFrame(rows)
    done = table[table["status"] == "computed"].copy()
    cols = ["id", "label", "endpoint", "cohort", "n", "events", "HR", "lower", "upper", "p", "published HR",
            "published lower", "published upper", "published p", "published model", "source", "note"]
    screened = tidy(done.reindex(columns=cols))
    other = table[table["status"] != "computed"][["id", "factor", "endpoint", "status"]]
    figs = []
    hr_rows = done[done["published HR"].notna()]
    for ep in ("PFS", "OS"):
        sub = hr_rows[hr_rows["endpoint"] == ep]
        if sub.empty:
            continue
        fr = pd.DataFrame({"label": sub["label"] + " [" + sub["id"].str.extract(r"_(\d{3}_?\w*)$")[0].fillna("") + "]",
                           "hr": sub["HR"].astype(float), "lower": sub["lower"].astype(float),
                           "upper": sub["upper"].astype(float), "pub_hr": sub["published HR"].astype(float),
                           "pub_lower": pd.to_numeric(sub["published lower"], errors="coerce"),
                           "pub_upper": pd.to_numeric(sub["published upper"], errors="coerce")})
        figs.append(forest_figure(fr, name=f"factors_forest_{ep.lower()}", label=demo_label(ctx.truth),
                                  caption=f"{ep}: univariable HR in this cohort (filled) vs the published estimate "
                                          "(open; catalogue entry in brackets)."))
    notes = [(f"Method: {len(cat)} catalogue entries; {len(done)} computed (univariable Cox, Wald 95 % CI; pooled "
             "cohorts unless the entry is a CAR-IMPI development/validation estimate; day-28/30 factors from their "
             f"landmark), {len(other)} not computable or not a PFS/OS endpoint (listed). Published estimates are "
             "as printed (multivariable where the source says so); catalogue provenance in "
             "cartlens/study/catalogue/prognostic_factors.yaml.")]
    values = {"n_catalogue": len(cat), "n_computed": len(done),
              "computed": {r["id"]: {"hr": r["HR"], "lower": r["lower"], "upper": r["upper"]}
                           for _, r in done.iterrows()}}
    tables = {"factors_screen": screened, "factors_not_screened": other}
    captions = {"factors_screen": "Univariable HR in this cohort vs published",
                "factors_not_screened": "Catalogue entries not screened"}
    if ctx.truth is not None and "survival" in ctx.truth:
        tables["factors_planted"] = _planted(ctx, done)
        captions["factors_planted"] = "Synthetic cohort: planted (conditional, multivariable) vs univariable HR"
    return SectionResult(Section(title=TITLE, tables=tables, figures=figs, notes=notes, captions=captions), values)


PLANTED_KEYS = {"ecog_ge2_pfs_002_nastoupil2020": "ecog_ge2", "ldh_high_preld_pfs_002_nastoupil2020": "ldh_gt_uln",
                "crp_preld_pfs_001_dev": "crp_per_mg_dl", "product_tisa_vs_axi_pfs_002_bethge2022": "tisa_cel",
                "product_liso_vs_axi_pfs_001_dev": "liso_cel"}


def _planted(ctx, done: pd.DataFrame) -> pd.DataFrame:
    """The generator's PFS log-HRs (exp) beside the screen's univariable HRs for the same factor."""
    coef = ctx.truth["survival"]["pfs_coefficients"]
    got = done.set_index("id")
    rows = []
    for entry, key in PLANTED_KEYS.items():
        if entry in got.index and key in coef:
            r = got.loc[entry]
            rows.append((f"PFS HR, {r['label']} ({r['cohort']})", float(np.exp(coef[key])), r["HR"],
                         "univariable vs planted conditional effect (confounded by MTV, stage, labs)"))
    return planted_table(rows)
