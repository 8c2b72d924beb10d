"""Post-infusion scans of the demo cohort: day-30 response scans and the first-progression (failure) scans.

Every patient alive and progression-free at FU1 (day 30 +/- 7) has a day-30 PET/CT (``FU1``); its depth of
response is tied to the planted progression time (early progressors keep Deauville 4-5 residual uptake, often
SUVmax >= 10), so the day-30 landmark analyses of study_report.md section 7 find a signal.  A patient whose
planted PFS event is a progression has a failure scan (``PD``) on ``pfs_days``.

Failure patterns follow Figura NB et al., Int J Radiat Oncol Biol Phys 2021;111:1145 (seed 004;
patterns_of_failure.md section 1): of recurring patients about 86 % have a local component and 36 % fail strictly
locally (13/36 strictly local, 18/36 mixed, 5/36 strictly de novo).  Within a local-component patient each index
lesion fails with probability ``logistic(a + 1.5 log(2.34) [LDi >= 5 cm] + 1.5 log(2.08) [SUVmax >= 10]
+ 1.5 log(1.49) [extranodal] + u_patient)``, u ~ N(0, 0.5^2), at least one lesion failing.  The factor 1.5 is a
calibration: the study's GEE over *all* index lesions (patients who never fail included) gives marginal ORs
attenuated towards 1, and with 1.5 they come out near the published 2.34 / 2.08 / 1.49 (seed 004).  A failing lesion meets Lugano ``L-PD-LES`` against its own nadir (LDi > 1.5 cm,
PPD >= 1.5 x nadir, LDi +0.5/+1.0 cm), has Deauville 5 and sits at its baseline centroid (overlap -> LOCAL).
De novo lesions are new nodes/sites > 1.5 cm at a site not involved at baseline (no overlap -> DE_NOVO).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cartlens.demo.lesions import EXTRANODAL_WEIGHTS, NODAL_WEIGHTS, site_centroids

__all__ = [
    "LESION_LOG_OR",
    "PATTERN_PROBS",
    "LesionSet",
    "build_followup",
    "failure_rows",
    "lesion_rows",
    "new_lesions",
    "nles",
    "response_rows",
    "rows_frame",
    "scan_row",
    "split_registry",
]

LesionSet = dict
"""One patient's lesions at one scan: column name -> numpy array (fast; pandas per-patient frames are slow)."""
_CARRIED = ("patient_id", "centre", "lesion_id", "site", "nodal", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm")

PATTERN_PROBS = {"strictly_local": 13 / 36, "mixed": 18 / 36, "strictly_de_novo": 5 / 36}
PUBLISHED_LESION_OR = {"bulky_5cm": 2.34, "suv_ge10": 2.08, "extranodal": 1.49}
# Planted *conditional* log-ORs (within local-failure patients, given the patient random effect): 1.5 x the
# published log-ORs, calibrated so that the marginal GEE ORs over all index lesions (what the study reports,
# patterns_of_failure.md section 2.5) come out near the published 2.34 / 2.08 / 1.49.
LESION_LOG_OR = {k: float(1.5 * np.log(v)) for k, v in PUBLISHED_LESION_OR.items()}
LESION_INTERCEPT = -1.6
REFRACTORY_PROB = 0.18
PATIENT_RE_SD = 0.5


def nles(les: LesionSet) -> int:
    """Number of lesions in a lesion set."""
    return len(les["lesion_id"])


def split_registry(registry: pd.DataFrame, n_patients: int) -> list[LesionSet]:
    """The registry as one ``LesionSet`` per patient row (patients are in ``pidx`` order)."""
    reg = registry.sort_values(["pidx", "lesion_id"], kind="stable")
    bounds = np.searchsorted(reg["pidx"].to_numpy(), np.arange(n_patients + 1))
    cols = {c: reg[c].to_numpy() for c in reg.columns}
    return [{c: v[bounds[i]:bounds[i + 1]] for c, v in cols.items()} for i in range(n_patients)]


def rows_frame(blocks: list[LesionSet]) -> pd.DataFrame:
    """Concatenate lesion sets into one DataFrame."""
    cols = sorted({c for b in blocks for c in b})
    data = {}
    for c in cols:
        parts = [np.asarray(b[c], dtype=object) if c in b else np.full(nles(b), None, dtype=object) for b in blocks]
        data[c] = np.concatenate(parts) if parts else np.array([], dtype=object)
    return pd.DataFrame(data)


def _size_state(ldi: np.ndarray, sdi: np.ndarray, gone: np.ndarray) -> tuple[np.ndarray, ...]:
    """Round diameters and derive the measurement state (absent / too_small / measured)."""
    ldi, sdi = np.round(ldi, 1), np.round(np.minimum(sdi, ldi), 1)
    state = np.where(gone, "absent", np.where(ldi < 0.5, "too_small", "measured"))
    measured = state == "measured"
    sdi = np.where(measured, np.maximum(sdi, 0.1), np.nan)
    return np.where(measured, ldi, np.nan), sdi, state


def response_rows(rng: np.random.Generator, les: LesionSet, *, depth: str, scan_id: str,
                  liver: float) -> LesionSet:
    """Lesion rows of a non-progressing follow-up scan (``depth`` ``CR``: all Deauville 1-3; ``PR``: 1-2 lesions
    keep Deauville 4-5 with reduced uptake; ``PR_high``: as PR with residual SUVmax 40-90 % of baseline;
    ``SD``: sizes 80-100 %, 1-2 lesions keep Deauville 4-5 with unchanged uptake - Lugano NMR)."""
    n = nles(les)
    lo_f, hi_f = {"CR": (0.0, 0.55), "SD": (0.8, 1.0)}.get(depth, (0.35, 0.75))
    f = rng.uniform(lo_f, hi_f, n)
    gone = (f < 0.2) & (depth == "CR")
    ldi, sdi, state = _size_state(les["ldi_cm"] * f, les["sdi_cm"] * f, gone)
    suv_bl = les["suvmax"]
    suv = rng.uniform(0.9, 0.95 * liver, n)
    ds = np.where(suv <= 0.8 * 1.7, "2", "3")
    if depth != "CR":
        avid = np.argsort(-suv_bl)[: 1 + int(rng.random() < 0.5)]
        lo, hi = {"PR_high": (0.4, 0.9), "SD": (0.9, 1.0)}.get(depth, (0.2, 0.45))
        suv[avid] = np.maximum(suv_bl[avid] * rng.uniform(lo, hi, len(avid)), 1.2 * liver)
        ds[avid] = np.where(suv[avid] > 2.5 * liver, "5", "4")
        state[avid] = np.where(state[avid] == "absent", "too_small", state[avid])
    uptake = np.full(n, "decreased", dtype=object)
    if depth == "SD":
        uptake[avid] = "unchanged"
    vol = np.where(np.isin(ds, ["4", "5"]), les["volume_ml"] * f ** 3, 0.0)
    return lesion_rows(les, scan_id, ldi, sdi, state, np.round(suv, 1), ds, uptake, np.round(vol, 2))


def lesion_rows(les: LesionSet, scan_id: str, ldi, sdi, state, suv, ds, uptake, vol) -> LesionSet:
    n = nles(les)
    out = {c: les[c] for c in _CARRIED}
    absent = np.asarray(state) == "absent"
    out["scan_id"] = np.full(n, scan_id, dtype=object)
    out["state"], out["ldi_cm"], out["sdi_cm"] = np.asarray(state, dtype=object), ldi, sdi
    out["suvmax"] = np.where(absent, np.nan, suv)
    out["volume_ml"] = np.where(absent, np.nan, vol)
    none = np.full(n, None, dtype=object)
    out["deauville"] = np.where(absent, none, np.broadcast_to(np.asarray(ds, dtype=object), (n,)))
    out["uptake_vs_baseline"] = np.where(absent, none, np.broadcast_to(np.asarray(uptake, dtype=object), (n,)))
    out["attribution"] = np.full(n, "lymphoma", dtype=object)
    return out


def _failing(rng: np.random.Generator, les: LesionSet) -> np.ndarray:
    """Which index lesions fail locally (at least one)."""
    x = (LESION_INTERCEPT + LESION_LOG_OR["bulky_5cm"] * (les["ldi_cm"] >= 5.0)
         + LESION_LOG_OR["suv_ge10"] * (les["suvmax"] >= 10.0)
         + LESION_LOG_OR["extranodal"] * (~les["nodal"].astype(bool))
         + rng.normal(0.0, PATIENT_RE_SD))
    p = 1.0 / (1.0 + np.exp(-x))
    fail = rng.random(nles(les)) < p
    if not fail.any():
        fail[int(np.argmax(p + 1e-9 * rng.random(len(p))))] = True
    return fail


def new_lesions(rng: np.random.Generator, les: LesionSet, k: int, scan_id: str, first: int = 1) -> LesionSet:
    """``k`` new FDG-avid lesions (> 1.5 cm, Deauville 5) at sites not involved at baseline."""
    used = set(les["site"])
    nod = [s for s in NODAL_WEIGHTS if s not in used] or list(NODAL_WEIGHTS)
    ext = [s for s in EXTRANODAL_WEIGHTS if s not in used] or list(EXTRANODAL_WEIGHTS)
    nodal = rng.random(k) < 0.7
    sites = np.array([rng.choice(nod) if m else rng.choice(ext) for m in nodal])
    xyz = site_centroids(rng, sites)
    ldi = np.round(rng.uniform(1.6, 4.0, k), 1)
    sdi = np.round(ldi * rng.uniform(0.6, 0.9, k), 1)
    return {
        "patient_id": np.full(k, les["patient_id"][0], dtype=object),
        "centre": np.full(k, les["centre"][0], dtype=object), "scan_id": np.full(k, scan_id, dtype=object),
        "lesion_id": np.array([f"N{first + j}" for j in range(k)], dtype=object), "site": sites, "nodal": nodal,
        "state": np.full(k, "measured", dtype=object), "ldi_cm": ldi, "sdi_cm": sdi,
        "volume_ml": np.round(np.pi / 6 * ldi * sdi * sdi * 0.6, 2),
        "suvmax": np.round(rng.uniform(6.0, 18.0, k), 1), "deauville": np.full(k, "5", dtype=object),
        "attribution": np.full(k, "lymphoma", dtype=object),
        "centroid_x_mm": xyz[:, 0], "centroid_y_mm": xyz[:, 1], "centroid_z_mm": xyz[:, 2],
    }


def failure_rows(rng: np.random.Generator, les: LesionSet, nadir_ldi: np.ndarray, nadir_sdi: np.ndarray,
                 *, pattern: str, scan_id: str, liver: float, refractory: bool = False,
                 prior_suv: np.ndarray | None = None) -> tuple[list[LesionSet], np.ndarray]:
    """Lesion rows of a first-progression scan and the local-failure flag of each index lesion.

    Non-failing index lesions regress further (Deauville 2-3), so most failures are mixed responses; with
    ``refractory`` they instead keep Deauville 4 and >= 85 % of their nadir size (no lesion in response) —
    except lesions already at or below the liver on the day-30 scan (``prior_suv``), which stay there: a
    return to Deauville 4-5 after 1-3 would be a metabolic local failure (patterns_of_failure.md §2.2 (a)).
    """
    n = nles(les)
    fail = _failing(rng, les) if pattern != "strictly_de_novo" else np.zeros(n, dtype=bool)
    bl_ldi, bl_sdi = les["ldi_cm"], les["sdi_cm"]
    grown = np.maximum.reduce([1.3 * nadir_ldi, nadir_ldi + 1.0, np.full(n, 1.8), bl_ldi * rng.uniform(0.9, 1.4, n)])
    shrunk = nadir_ldi * (rng.uniform(0.85, 1.0, n) if refractory else rng.uniform(0.7, 1.0, n))
    ldi_raw = np.where(fail, grown, shrunk)
    ratio = np.where(fail, bl_sdi / bl_ldi, np.where(nadir_ldi > 0, nadir_sdi / np.maximum(nadir_ldi, 1e-9), 0.7))
    ldi, sdi, state = _size_state(ldi_raw, ldi_raw * ratio, (~fail) & (nadir_ldi == 0) & (not refractory))
    ldi, sdi = np.where(fail, np.ceil(ldi_raw * 10) / 10, ldi), np.where(fail, np.ceil(ldi_raw * ratio * 10) / 10, sdi)
    state = np.where(fail, "measured", state)
    suv_bl = les["suvmax"]
    resolved_suv = rng.uniform(0.9, 0.95 * liver, n)
    if refractory:
        resolved_suv = np.maximum(suv_bl * rng.uniform(0.5, 0.8, n), 1.2 * liver)
        if prior_suv is not None:
            prior = np.asarray(prior_suv, dtype=float)
            resolved_suv = np.where(prior <= liver, np.minimum(resolved_suv, prior), resolved_suv)
    suv = np.where(fail, np.maximum(suv_bl * rng.uniform(0.9, 1.5, n), 6.0), resolved_suv)
    ds = np.where(fail, "5", np.where(suv > 2.5 * liver, "5", np.where(suv > liver, "4", np.where(suv <= 1.36, "2",
                                                                                                  "3"))))
    uptake = np.where(fail, np.where(suv > 1.1 * suv_bl, "increased", "unchanged"), "decreased")
    vol = np.where(fail, les["volume_ml"] * (ldi_raw / bl_ldi) ** 3, 0.0)
    rows = lesion_rows(les, scan_id, ldi, sdi, state, np.round(suv, 1), ds, uptake, np.round(vol, 2))
    out = [rows]
    if pattern != "strictly_local":
        k = int(rng.integers(1, 4 if pattern == "strictly_de_novo" else 3))
        out.append(new_lesions(rng, les, k, scan_id))
    return out, fail


def scan_row(bl: dict, scan_id: str, day: int, *, nontarget: str, marrow: str | None = None,
          spleen: float | None = None) -> dict:
    return {"patient_id": bl["patient_id"], "centre": bl["centre"], "scan_id": scan_id, "day": int(day),
            "modality": "petct", "spleen_cm": bl["spleen_cm"] if spleen is None else spleen,
            "marrow": bl["marrow"] if marrow is None else marrow, "nontarget": nontarget,
            "clinical_deterioration": False, "liver_suvmean": bl["liver_suvmean"], "mbp_suvmax": bl["mbp_suvmax"]}


def _fu1_depth(rng: np.random.Generator, progressed: bool, pfs_days: int) -> str:
    if progressed and pfs_days <= 180:
        return str(rng.choice(["PR_high", "SD", "PR"], p=[0.5, 0.3, 0.2]))
    if progressed:
        return "CR" if rng.random() < 0.5 else "PR"
    return "CR" if rng.random() < 0.85 else "PR"


def build_followup(rng: np.random.Generator, base: pd.DataFrame, outc: pd.DataFrame, registry: pd.DataFrame,
                   bl_scans: pd.DataFrame, skip: set[int]) -> tuple[list[dict], list[LesionSet], list[dict]]:
    """FU1 and PD scans for every patient not in ``skip`` (row indices of ``base``).

    Returns scan rows, lesion row blocks and one failure record per progressing patient
    (``patient_id, centre, pattern, failed_lesions``).
    """
    scans: list[dict] = []
    blocks: list[LesionSet] = []
    failures: list[dict] = []
    by_patient = split_registry(registry, len(base))
    bl_records = bl_scans.to_dict("records")
    for i in range(len(base)):
        if i in skip:
            continue
        les, bl = by_patient[i], bl_records[i]
        pfs, prog, os_days = int(outc["pfs_days"].iat[i]), bool(outc["progressed"].iat[i]), int(outc["os_days"].iat[i])
        d1 = int(outc["fu1_day"].iat[i])
        nadir_ldi, nadir_sdi = les["ldi_cm"], les["sdi_cm"]
        depth = "none"
        fu1_suv = None
        if os_days >= d1 and not (prog and pfs <= d1):
            depth = _fu1_depth(rng, prog, pfs)
            rows = response_rows(rng, les, depth=depth, scan_id="FU1", liver=float(bl["liver_suvmean"]))
            blocks.append(rows)
            fu1_suv = np.asarray(rows["suvmax"], dtype=float)
            nt = "absent" if depth == "CR" else "present"
            scans.append(scan_row(bl, "FU1", d1, nontarget=nt,
                               marrow="not_involved" if depth == "CR" else None,
                               spleen=round(min(float(bl["spleen_cm"]), 12.5), 1) if depth == "CR" else None))
            nadir_ldi = np.minimum(nadir_ldi, np.nan_to_num(rows["ldi_cm"], nan=0.0))
            nadir_sdi = np.minimum(nadir_sdi, np.nan_to_num(rows["sdi_cm"], nan=0.0))
        if prog:
            pattern = str(rng.choice(list(PATTERN_PROBS), p=list(PATTERN_PROBS.values())))
            scan_id = "FU1" if pfs == d1 else "PD"          # progression found on the day-30 scan itself
            # Without a response at day 30, some failures show no lesion in response at all (Figura 2021: 84 %
            # of recurrences were mixed responses).
            refractory = depth in ("none", "SD") and bool(rng.random() < REFRACTORY_PROB)
            pd_rows, fail = failure_rows(rng, les, nadir_ldi, nadir_sdi, pattern=pattern, scan_id=scan_id,
                                         liver=float(bl["liver_suvmean"]), refractory=refractory,
                                         prior_suv=fu1_suv)
            blocks.extend(pd_rows)
            nt_fail = bool((fail & (les["role"] == "nontarget")).any())
            scans.append(scan_row(bl, scan_id, pfs, nontarget="unequivocal_progression" if nt_fail else "present"))
            failures.append({"patient_id": bl["patient_id"], "centre": bl["centre"], "pattern": pattern,
                             "scan_id": scan_id, "failed_lesions": [str(x) for x in les["lesion_id"][fail]]})
    return scans, blocks, failures
