"""Section 2, Response under four criteria (seed 000: Winkelmann M et al., Cancer Imaging 2023;23:44).

Per follow-up (FU1 about day 30, FU2 about day 90): ORR (CR + PR), CR and PD rates under Lugano 2014 (Cheson
BD et al., J Clin Oncol 2014;32:3059), Cheson 2007 (J Clin Oncol 2007;25:579), RECIL 2017 (Younes A et al.,
Ann Oncol 2017;28:1436) and LYRIC 2016 (Cheson BD et al., Blood 2016;128:2489); 4 x 4 agreement matrices and
unweighted Cohen's kappa (Cohen 1960); PD reasons as % of PD patients; Sankey of category flows; swimmer plot;
OS by focality of progressive target lesions (KM + log-rank); Lugano CT vs PET sub-responses.
All classification is done by :mod:`cartlens.criteria`; this module only tabulates and draws.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import pandas as pd

from cartlens.criteria import assess
from cartlens.criteria.compare import (
    REASON_CODES,
    agreement_matrix,
    at_timepoint,
    cohens_kappa,
    focality,
    pd_reason_frequencies,
    response_rates,
)
from cartlens.criteria.engine import lesion_table
from cartlens.report.figures import sankey_figure, swimmer_figure
from cartlens.study.common import SectionResult, demo_label, km_panel, planted_table, r3, skipped, tidy

TITLE = "Response under four criteria"
KEYS = ["centre", "patient_id"]
NAMES = {"lugano": "Lugano", "cheson2007": "Cheson", "recil": "RECIL", "lyric": "LYRIC"}
PUBLISHED_FU2 = {"lugano": (68, 32), "cheson2007": (68, 27), "recil": (63, 17), "lyric": (68, 17)}
PUBLISHED_REASONS = {"TL": 84.6, "NL": 53.8, "NTL": 27.3, "PMD": 15.4}


def _timepoint_rows(results: pd.DataFrame, ctx, tp: str) -> pd.DataFrame:
    o = ctx.plan.response
    if o.timepoint_by == "scan_id":
        return results[results["scan_id"] == tp]
    lo, hi = o.fu1_window if tp == "FU1" else o.fu2_window
    return at_timepoint(results, tp, windows={tp: ((lo + hi) // 2, lo, hi)})


def _population(results: pd.DataFrame, ctx) -> pd.DataFrame:
    """Patients assessed at both follow-ups (the response sub-study), their rows at FU1/FU2 labelled."""
    parts = []
    for tp in ("FU1", "FU2"):
        rows = _timepoint_rows(results, ctx, tp)
        parts.append(rows.assign(timepoint=tp))
    both = parts[0][KEYS].drop_duplicates().merge(parts[1][KEYS].drop_duplicates())
    return pd.concat(parts, ignore_index=True).merge(both, on=KEYS)


def _rates(rows: pd.DataFrame, criteria: list[str]) -> pd.DataFrame:
    out = []
    for tp in ("FU1", "FU2"):
        sub = rows[rows["timepoint"] == tp].assign(scan_id=tp)
        r = response_rates(sub, tp, criteria=criteria).reset_index()
        out.append(r.assign(timepoint=tp))
    t = pd.concat(out, ignore_index=True)
    for c in ("orr", "cr", "pd"):
        t[f"{c} %"] = (100 * t[c]).round(1)
    t["criterion"] = t["criterion"].map(NAMES)
    return t[["timepoint", "criterion", "n", "n_orr", "orr %", "n_cr", "cr %", "n_pd", "pd %"]]


def _agreement(rows: pd.DataFrame, criteria: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    mats, kappas = [], []
    for tp in ("FU1", "FU2"):
        sub = rows[rows["timepoint"] == tp]
        for a, b in combinations(criteria, 2):
            k = cohens_kappa(sub, a, b)
            kappas.append({"timepoint": tp, "pair": f"{NAMES[a]} vs {NAMES[b]}", "n": int(sub[KEYS].drop_duplicates().shape[0]),
                           "kappa": r3(k)})
            if tp == "FU2":
                m = agreement_matrix(sub, a, b)
                m = m.reset_index().rename(columns={a: "row"})
                m.columns = [str(c) for c in m.columns]
                m.insert(0, "pair", f"{NAMES[a]} (rows) vs {NAMES[b]} (columns)")
                mats.append(m)
    if not mats:
        return pd.DataFrame(), pd.DataFrame(kappas)
    table = pd.concat(mats, ignore_index=True)
    counts = [c for c in table.columns if c not in ("pair", "row")]
    table[counts] = table[counts].fillna(0).astype(int)
    return table, pd.DataFrame(kappas)


def _reasons(rows: pd.DataFrame, criteria: list[str]) -> pd.DataFrame:
    out = []
    for tp in ("FU1", "FU2"):
        f = pd_reason_frequencies(rows[rows["timepoint"] == tp], None, criteria=criteria).reset_index()
        for _, r in f.iterrows():
            rec: dict[str, Any] = {"timepoint": tp, "criterion": NAMES[r["criterion"]], "n_pd": int(r["n_pd"])}
            for code in REASON_CODES:
                rec[f"{code} n"] = int(r[f"{code}_n"])
                rec[f"{code} %"] = r3(r[f"{code}_pct"]) if r["n_pd"] else None
            out.append(rec)
    return pd.DataFrame(out)


def _ct_pet(rows: pd.DataFrame) -> pd.DataFrame:
    lug = rows[rows["criterion"] == "lugano"]
    if lug["ct_category"].isna().all():
        return pd.DataFrame()
    t = pd.crosstab([lug["timepoint"], lug["ct_category"].fillna("NE")], lug["pet_category"].fillna("NE"))
    t.columns = [f"PET {c}" for c in t.columns]
    return t.reset_index().rename(columns={"ct_category": "CT-based response"})


def _focality(ctx, results: pd.DataFrame, pop_keys: pd.DataFrame):
    lt = lesion_table(ctx.tables["scans"], ctx.tables["lesions"])
    foc = focality(results.merge(pop_keys, on=KEYS), lt, criterion="lugano").dropna(subset=["focality"])
    frame = ctx.frame.reset_index().merge(foc[KEYS + ["focality"]], on=KEYS)
    return km_panel(frame, "os", "focality", ["unifocal", "multifocal"], name="response_os_focality",
                    caption="OS by focality of progressive target lesions at the first Lugano PD (seed 000: "
                            "p = 0.036).", label=demo_label(ctx.truth), reference="unifocal")


def _swimmer(ctx, rows: pd.DataFrame, results: pd.DataFrame, pop_keys: pd.DataFrame):
    lanes = ctx.frame.reset_index().merge(pop_keys, on=KEYS)
    lanes = lanes.assign(patient=lanes["centre"] + "/" + lanes["patient_id"], end_days=lanes["os_days"],
                         event=lanes["os_event"])
    marks = results[results["criterion"] == "lugano"].merge(pop_keys, on=KEYS)
    marks = marks.assign(patient=marks["centre"] + "/" + marks["patient_id"])[["patient", "day", "category"]]
    return swimmer_figure(lanes[["patient", "end_days", "event"]], marks, name="response_swimmer",
                          caption="Swimmer plot: Lugano response at every follow-up scan (bar = OS follow-up, "
                                  "x = death).", label=demo_label(ctx.truth))


def _planted(ctx, rates: pd.DataFrame, reasons: pd.DataFrame) -> pd.DataFrame:
    subs = pd.DataFrame(ctx.truth["imaging_substudy"]["patients"])
    rows = []
    fu2 = rates[rates["timepoint"] == "FU2"].set_index("criterion")
    for key, name in NAMES.items():
        if name not in fu2.index:
            continue
        intended = subs["intended_fu2"].map(lambda d, k=key: d.get(k))
        n = len(intended)
        planted_orr = 100 * intended.isin(["CR", "PR"]).sum() / n
        planted_pd = 100 * (intended == "PD").sum() / n
        rows.append((f"{name} ORR at FU2, %", round(planted_orr, 1), fu2.loc[name, "orr %"],
                     f"published {PUBLISHED_FU2[key][0]} %"))
        rows.append((f"{name} PD at FU2, %", round(planted_pd, 1), fu2.loc[name, "pd %"],
                     f"published {PUBLISHED_FU2[key][1]} %"))
    lug = reasons[(reasons["timepoint"] == "FU2") & (reasons["criterion"] == "Lugano")]
    for code, pub in PUBLISHED_REASONS.items():
        if len(lug):
            note = ("published share (generator target)" if code != "NTL" else
                    "published 27.3 % = 3/11, not k/13 (seed caveat); the generator plants 3 of 13 = 23.1 %")
            rows.append((f"Lugano PD reason {code}, % of PD", pub, lug.iloc[0][f"{code} %"], note))
    return planted_table(rows)


def build(ctx) -> SectionResult:
    scans, lesions = ctx.tables.get("scans"), ctx.tables.get("lesions")
    if scans is None or lesions is None or scans.empty or lesions.empty:
        return skipped(TITLE, "no scans/lesions tables")
    criteria = list(ctx.plan.response.criteria)
    options = None
    if ctx.plan.response.options:
        from cartlens.criteria.options import ResponseOptions
        options = ResponseOptions.from_toml(ctx.plan.resolve(ctx.plan.response.options))
    results = assess(scans, lesions, criteria=criteria, options=options)
    rows = _population(results, ctx)
    if rows.empty:
        return skipped(TITLE, "no patient has a scan at both follow-up time points")
    pop_keys = rows[KEYS].drop_duplicates()
    rates = _rates(rows, criteria)
    matrices, kappas = _agreement(rows, criteria)
    reasons = _reasons(rows, criteria)
    tables = {"response_rates": rates, "response_kappa": kappas, "response_agreement_fu2": matrices,
              "response_pd_reasons": reasons}
    ctpet = _ct_pet(rows)
    if len(ctpet):
        tables["response_lugano_ct_pet"] = ctpet
    figs = []
    fu2 = rows[rows["timepoint"] == "FU2"]
    label = demo_label(ctx.truth)
    for other in [c for c in ("lyric", "recil") if c in criteria and "lugano" in criteria]:
        wide = fu2.pivot_table(index=KEYS, columns="criterion", values="category", aggfunc="first")
        wide = wide.rename(columns=NAMES)
        figs.append(sankey_figure(wide, "Lugano", NAMES[other], name=f"response_sankey_lugano_{other}",
                                  caption=f"Response categories at FU2: Lugano to {NAMES[other]}.", label=label))
    figs.append(_swimmer(ctx, rows, results, pop_keys))
    values: dict[str, Any] = {"n_patients": len(pop_keys),
                              "rates": rates.to_dict(orient="records"), "kappa": kappas.to_dict(orient="records")}
    fig, ftable, fvals = _focality(ctx, results, pop_keys)
    if fig is not None:
        figs.append(fig)
        tables["response_os_focality"] = tidy(ftable)
        values["focality"] = fvals
    notes = [f"Method: {len(pop_keys)} patients assessed at both follow-ups ("
             + ("scans named FU1/FU2" if ctx.plan.response.timepoint_by == "scan_id" else
                f"scan nearest the nominal day in days {ctx.plan.response.fu1_window} and "
                f"{ctx.plan.response.fu2_window}") + "). ORR = CR + PR (MR is not a response); PD reasons are % of "
             "PD patients at that time point (a patient may have several). Cohen's kappa unweighted over all "
             "categories. Agreement matrices: rows first criterion, columns second.",
             ("Seed 000 (41 patients, FU2): ORR 68/68/63/68 %, PD 32/27/17/17 % (Lugano/Cheson/RECIL/LYRIC); "
             "Lugano PD reasons TL 84.6 %, NL 53.8 %, NTL 27.3 %, PMD 15.4 %; OS by focality p = 0.036.")]
    captions = {"response_rates": "Response rates per criterion and follow-up",
                "response_kappa": "Cohen's kappa between criteria",
                "response_agreement_fu2": "Agreement matrices at FU2 (patients)",
                "response_pd_reasons": "Reasons for PD (% of PD patients)",
                "response_lugano_ct_pet": "Lugano: CT-based vs PET-based sub-response",
                "response_os_focality": "OS by focality of progressive target lesions (Lugano)"}
    if ctx.truth is not None and "imaging_substudy" in ctx.truth:
        tables["response_planted"] = _planted(ctx, rates, reasons)
        captions["response_planted"] = "Synthetic cohort: planted vs recovered (FU2)"
    from cartlens.report.html import Section
    return SectionResult(Section(title=TITLE, tables=tables, figures=figs, notes=notes, captions=captions), values)
