"""The output tables of patterns_of_failure.md §2.6, as DataFrames (for the report and CSV).

1. ``pattern``: patients with PD; any local; strictly local; mixed; strictly de novo; mixed
   response at failure — n (%) of patients with PD (Figura 2021 format), main and sensitivity.
2. ``lesions``: index lesions, failing lesions and the failure rate by each factor.
3. ``model``: OR (95 % CI) and p for each factor, GEE (univariable, multivariable) and GLMM.
4. ``listing``: per-lesion audit listing (features, status at each time point, failure scan,
   class, overlap or distance, reader overrides).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from cartlens.failure.lesion_model import FACTORS
from cartlens.failure.result import jsonable

if TYPE_CHECKING:
    from cartlens.failure.result import FailureResult

LABELS = {"bulky_5cm": "Diameter >= 5 cm", "suv_ge10": "SUVmax >= 10", "extranodal": "Extranodal"}


def _n_pct(n: int, d: int) -> str:
    return f"{n} ({100.0 * n / d:.0f}%)" if d else f"{n} (-)"


def pattern_table(res: FailureResult) -> pd.DataFrame:
    s = res.summary_dict()
    sens = s["sensitivity_adjacent_as_local"]
    d = s["patients_with_pd"]
    rows = [("Patients with PD", str(d), str(d))]
    for key, label in (("any_local", "Any local failure"), ("strictly_local", "Strictly local"),
                       ("mixed", "Mixed"), ("strictly_de_novo", "Strictly de novo"),
                       ("unclassified", "No classifiable failure lesion")):
        rows.append((label, _n_pct(s[key], d), _n_pct(sens[key], d)))
    rows.append(("Mixed response at failure", _n_pct(s["mixed_response"], d), _n_pct(s["mixed_response"], d)))
    return pd.DataFrame(rows, columns=["Item", "Main (adjacent = de novo)", "Sensitivity (adjacent = local)"])


def lesion_table(res: FailureResult) -> pd.DataFrame:
    reg = res.registry
    rows = [{"Factor": "All index lesions", "Level": "", "Index lesions": len(reg),
             "Failed": int(reg["failed"].sum()) if len(reg) else 0}]
    for f in FACTORS:
        for level, label in ((True, "yes"), (False, "no"), (None, "unknown")):
            sel = reg[reg[f].isna()] if level is None else reg[reg[f] == level]
            if level is None and sel.empty:
                continue
            rows.append({"Factor": LABELS[f], "Level": label, "Index lesions": len(sel), "Failed": int(sel["failed"].sum())})
    out = pd.DataFrame(rows)
    out["Failure rate (%)"] = [100.0 * f / n if n else None for f, n in zip(out["Failed"], out["Index lesions"])]
    fl = res.failure_lesions
    live = fl[fl["excluded"].isna()] if len(fl) else fl
    out.attrs["failing_lesions_at_pd"] = len(live)
    return out


def _fmt(row: dict) -> tuple[str, str]:
    if row.get("or") is None:
        return "not estimable", ""
    ci = "" if row.get("or_lower") is None else f" ({row['or_lower']:.2f}-{row['or_upper']:.2f})"
    p = row.get("p")
    return f"{row['or']:.2f}{ci}", ("" if p is None else ("<.001" if p < 0.001 else f"{p:.3f}"))


def model_table(res: FailureResult) -> pd.DataFrame:
    m = res.models
    specs = [("GEE univariable", lambda f: m.get("gee_univariable", {}).get(f)),
             ("GEE multivariable", lambda f: m.get("gee_multivariable")),
             ("GLMM multivariable (conditional)", lambda f: m.get("glmm_multivariable")),
             ("GEE adjacent = local", lambda f: m.get("gee_adjacent_as_local")),
             ("GEE adjusted (bridging RT, product)", lambda f: m.get("gee_adjusted")),
             ("GEE without bridging-RT lesions", lambda f: m.get("gee_excluding_bridging_rt"))]
    rows = []
    for f in FACTORS:
        for model, get in specs:
            fit = get(f)
            row = fit.to_dict()["terms"].get(f, {}) if fit is not None else {}
            text, p = _fmt(row)
            rows.append({"Factor": LABELS[f], "Model": model, "OR (95% CI)": text, "p": p,
                         "or": row.get("or"), "or_lower": row.get("or_lower"), "or_upper": row.get("or_upper"),
                         "p_value": row.get("p")})
    out = pd.DataFrame(rows)
    out.attrs.update({k: m.get(k) for k in ("n_lesions", "n_patients", "n_events", "epv", "epv_warning")})
    return out


def continuous_table(res: FailureResult) -> pd.DataFrame:
    """Sensitivity with continuous predictors: OR per doubling of SUVmax, per cm of LDi, and the
    LDi spline's ORs against 2 cm (spec §2.5: the 5 cm / SUV 10 cut-points may be data-driven)."""
    rows = []
    fit = res.models.get("gee_continuous")
    labels = {"log2_suvmax": "SUVmax, per doubling", "ldi_cm": "LDi, per cm", "extranodal": "Extranodal"}
    for term, label in labels.items():
        row = fit.to_dict()["terms"].get(term, {}) if fit is not None else {}
        text, p = _fmt(row)
        rows.append({"Model": "GEE continuous", "Term": label, "OR (95% CI)": text, "p": p})
    spline = res.models.get("gee_spline")
    for g in (spline or {}).get("grid", [])[1:]:           # the first grid point is the 2 cm reference
        text, _ = _fmt({"or": g["or_vs_2cm"], "or_lower": g["or_lower"], "or_upper": g["or_upper"], "p": None})
        rows.append({"Model": "GEE LDi spline (3 knots)", "Term": f"LDi {g['ldi_cm']:g} cm vs 2 cm",
                     "OR (95% CI)": text, "p": ""})
    return pd.DataFrame(rows)


def listing(res: FailureResult) -> pd.DataFrame:
    reg = res.registry.copy()
    status = res.course.assign(
        status=lambda c: [f"{s}:{st or 'missing'}/DS{ds_ or '-'}{'*' if p else ''}"
                          for s, st, ds_, p in zip(c["scan_id"], c["state"], c["deauville"], c["progressing"])])
    agg = status.groupby(["centre", "patient_id", "lesion_id"])["status"].agg("; ".join).rename("status_by_scan")
    reg = reg.merge(agg, left_on=["centre", "patient_id", "lesion_id"], right_index=True, how="left")
    reg["class"] = ["LOCAL" if f else None for f in reg["failed"]]
    reg["index"] = True
    cols = ["centre", "patient_id", "lesion_id", "index", "site", "extranodal", "ldi_cm", "bulky_5cm", "suvmax",
            "suv_ge10", "bridging_rt", "status_by_scan", "failure_scan_id", "failure_day", "failure_mode",
            "subtype", "class", "failed", "auto_failed", "failed_sensitivity", "censor_day", "override"]
    fl = res.failure_lesions
    new = fl[~fl["index"].astype(bool)] if len(fl) else fl
    extra = pd.DataFrame({
        "centre": new["centre"], "patient_id": new["patient_id"], "lesion_id": new["lesion_id"], "index": False,
        "site": new["site"], "failure_scan_id": new["scan_id"], "failure_day": new["day"],
        "class": [None if c is None else c.upper() for c in new["class"]], "auto_class": new["auto_class"],
        "method": new["method"], "linked_index_ids": [";".join(x) for x in new["linked_index_ids"]],
        "overlap_voxels": new["overlap_voxels"], "distance_mm": new["distance_mm"], "excluded": new["excluded"],
        "override": new["override"]})
    out = pd.concat([reg[cols], extra], ignore_index=True) if len(extra) else reg[cols]
    return out.map(lambda v: jsonable(v) if not isinstance(v, str) else v)


def survival_table(res: FailureResult) -> pd.DataFrame:
    """Patient level: PFS/OS HR (95 % CI) by any high-risk lesion, their number, any lesion >= 5 cm; KM medians."""
    ps = res.models.get("patient_survival") or {}
    rows = []
    for end in ("pfs", "os"):
        for label, text in (("any_high_risk", "Any high-risk lesion"), ("n_high_risk", "Number of high-risk lesions"),
                            ("any_bulky_5cm", "Any lesion >= 5 cm")):
            fit = ps.get(f"{end}_{label}")
            row = {"Endpoint": end.upper(), "Factor": text, "HR (95% CI)": "not estimable", "p": ""}
            if fit is not None:
                c = next(iter(fit.to_dict()["coef"].values()))
                row.update({"HR (95% CI)": f"{c['hr']:.2f} ({c['hr_lower']:.2f}-{c['hr_upper']:.2f})",
                            "p": "<.001" if c["p"] < 0.001 else f"{c['p']:.3f}", "n": fit.n, "events": fit.n_events})
            km = ps.get(f"{end}_km_{label}") or {}
            for grp in ("yes", "no"):
                if grp in km:
                    row[f"median days ({grp})"] = km[grp]["median_days"]
            rows.append(row)
    return pd.DataFrame(rows)


def cif_table(res: FailureResult) -> pd.DataFrame:
    """Cumulative incidence (%) of local failure per lesion, death competing, at 90/180/365 days."""
    cif = res.models.get("cif_local_failure") or {}
    labels = {"all": "All index lesions", "high_risk": "Any high-risk feature", "no_high_risk": "No high-risk feature"}
    rows = [{"Lesions": labels[k], "n": v["n"], "local failures": v["events"],
             **{f"day {t} (%)": 100.0 * x for t, x in v["at"].items()}} for k, v in cif.items()]
    return pd.DataFrame(rows)


def build_tables(res: FailureResult) -> dict[str, pd.DataFrame]:
    """All four §2.6 tables, the patient-level survival table and the failure-lesion classification audit."""
    return {"pattern": pattern_table(res), "lesions": lesion_table(res), "model": model_table(res),
            "listing": listing(res), "survival": survival_table(res), "cumulative_incidence": cif_table(res),
            "continuous": continuous_table(res),
            "failure_lesions": res.failure_lesions.copy()}


METHOD_TEXT = (
    "Index lesions: every lesion on the last pre-infusion PET/CT. A lesion failed locally at the first scan in PD "
    "under {criterion} where it progressed (metabolic, Lugano L-PD-LES against its nadir, or regrowth) or was "
    "overlapped by a progressing mass. Failure lesions at the first PD scan were classified LOCAL (overlap with an "
    "index lesion), ADJACENT (within {margin} mm; counted as de novo in the main analysis, as local in the "
    "sensitivity analysis) or DE_NOVO (Figura et al., Int J Radiat Oncol Biol Phys 2021;111:1145-54). Lesion-level "
    "odds ratios: logistic GEE with exchangeable working correlation and the Mancl-DeRouen bias-reduced sandwich "
    "(clusters = patients); random-intercept logistic GLMM as sensitivity (conditional ORs).")


def report_section(res: FailureResult) -> dict:
    """Everything the study report's "Patterns of failure" section needs, as data (no rendering here).

    Keys: ``title``, ``method`` (text with the citation), ``tables`` (the DataFrames of
    :func:`build_tables` without the raw audit), ``forest`` (rows factor/model/or/or_lower/or_upper
    for a forest plot with the reference line at 1), ``notes`` (EPV warning and fitting messages).
    """
    tabs = build_tables(res)
    model = tabs["model"]
    forest = model[["Factor", "Model", "or", "or_lower", "or_upper"]].dropna(subset=["or"]).to_dict("records")
    notes = list(res.models.get("messages", []))
    return {"title": "Patterns of failure", "criterion": res.criterion,
            "method": METHOD_TEXT.format(criterion=res.criterion, margin=res.options.margin_mm),
            "tables": {k: v for k, v in tabs.items() if k != "failure_lesions"}, "forest": forest, "notes": notes}
