"""The seeded synthetic demo cohort (spec ``demo_cohort.md``): ``generate(seed) -> DemoCohort``.

Pure: no I/O.  Deterministic for a seed (one ``numpy.random.Generator`` drawn in a fixed order).  Steps:

1. ``baseline``   - six centres, Table 1 characteristics, correlated pre-lymphodepletion labs;
2. ``outcomes``   - planted Weibull-PH PFS/OS with the 44.3 mL linear-spline MTV term;
3. ``lesions``    - baseline PET/CT and the pre-treatment lesion registry (~7 lesions per patient);
4. ``imaging``    - the 41-patient response sub-study (FU1/FU2) with the published criteria discordance;
5. ``followup``   - day-30 scans and first-progression scans with local / de novo failures for everyone else;
6. ``clinical``   - toxicity, ctDNA, CAR-T expansion, CD3 at apheresis; ``inflammation`` - day-0 labs;
7. ``tables``     - canonical tables in each centre's reporting units; ``pet_volumes`` (optional) - small PET
   volumes whose lesions match the lesion table.

Every table is labelled synthetic demonstration data by the report that shows it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cartlens.demo import baseline, clinical, followup, imaging, inflammation, lesions, outcomes, tables
from cartlens.demo.centres import CENTRES, COHORT_TARGETS, MONTH_DAYS

__all__ = ["DEFAULT_SEED", "DemoCohort", "generate", "hematotox_points"]

DEFAULT_SEED = 20240501
LABEL = "synthetic demonstration data"


@dataclass(frozen=True)
class DemoCohort:
    """A generated demo cohort.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``patients, labs, scans, lesions, toxicity, biomarkers`` with the canonical columns of data_model.md,
        values as reported (one centre's CRP in mg/L and Hb in g/L, European creatinine/bilirubin in umol/L);
        times in days from infusion.
    truth : dict
        JSON-serialisable planted truth: coefficients (knot 44.3 mL), frailties, calibration offsets, toxicity
        and lesion-failure models, sub-study archetypes with intended categories, failure patterns, InflaMix
        mixture and clusters.
    pet : dict
        ``(centre, patient_id, scan_id) -> (suv_volume float32 [x, y, z], affine 4x4)`` when generated with
        ``with_pet=True``; empty otherwise.
    """

    seed: int
    tables: dict[str, pd.DataFrame]
    truth: dict[str, Any]
    pet: dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def data_hash(self) -> str:
        """SHA-256 over the tables' CSV text (stable for a seed)."""
        h = hashlib.sha256()
        for name in sorted(self.tables):
            h.update(name.encode())
            h.update(self.tables[name].to_csv(index=False, float_format="%.10g").encode())
        return h.hexdigest()

    def summary(self) -> pd.DataFrame:
        """Rows per table, as a small DataFrame."""
        rows = [{"table": k, "rows": len(v)} for k, v in self.tables.items()]
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record: seed, row counts, data hash and the planted truth."""
        return {"seed": self.seed, "counts": {k: len(v) for k, v in self.tables.items()},
                "data_hash": self.data_hash(), "truth": self.truth}


def hematotox_points(df: pd.DataFrame) -> pd.Series:
    """CAR-HEMATOTOX score from canonical-unit labs (scores.md section 7: platelets > 175 / 75-175 / < 75,
    ANC <= 1.2, Hb <= 9.0, CRP >= 3.0, ferritin < 650 / 650-2000 / > 2000); NA when a component is missing."""
    pts = ((df["plt"] <= 175).astype(int) + (df["plt"] < 75) + (df["anc"] <= 1.2) + (df["hb"] <= 9.0)
           + (df["crp"] >= 3.0) + (df["ferritin"] >= 650) + (df["ferritin"] > 2000))
    missing = df[["plt", "anc", "hb", "crp", "ferritin"]].isna().any(axis=1)
    return pts.astype("Int64").mask(missing)


_NUMERIC = ("ldi_cm", "sdi_cm", "volume_ml", "suvmax", "centroid_x_mm", "centroid_y_mm", "centroid_z_mm")


def _finish_lesions(registry: pd.DataFrame, blocks: list[dict]) -> pd.DataFrame:
    les = pd.concat([registry, followup.rows_frame(blocks)], ignore_index=True)
    for col in tables.COLUMNS["lesions"]:
        if col not in les:
            les[col] = None
    for col in _NUMERIC:
        les[col] = pd.to_numeric(les[col]).astype(float)
    les["nodal"] = les["nodal"].astype(bool)
    for col in ("role", "deauville", "uptake_vs_baseline", "attribution", "biopsy_proven", "bridging_rt"):
        les[col] = les[col].astype(object).where(les[col].notna(), None)
    return les[tables.COLUMNS["lesions"]].sort_values(["centre", "patient_id", "scan_id", "lesion_id"],
                                                      kind="stable").reset_index(drop=True)


def generate(seed: int = DEFAULT_SEED, *, n_dev: int = 256, n_val: int = 248, with_pet: bool = False) -> DemoCohort:
    """Generate the synthetic multi-centre demo cohort.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator``; the cohort is a deterministic function of
        (seed, n_dev, n_val, with_pet).
    n_dev, n_val : int
        Development (centres C1-C5) and validation (C6) sizes; published 256 and 248.  The 41-patient imaging
        sub-study needs a development cohort of about 150 or more; a smaller one fills fewer archetypes
        (``truth["imaging_substudy"]["shortfall"]``).
    with_pet : bool
        Also build small PET SUV volumes for a handful of sub-study patients (``DemoCohort.pet``).

    Returns
    -------
    DemoCohort
    """
    if n_dev < 1 or n_val < 1:
        raise ValueError(f"n_dev and n_val must be >= 1, got n_dev={n_dev!r}, n_val={n_val!r}")
    rng = np.random.default_rng(seed)
    base = baseline.draw_baseline(rng, n_dev, n_val)
    outc, surv_truth = outcomes.draw_outcomes(rng, base)
    bl_scans = lesions.baseline_scans(rng, base)
    registry = lesions.draw_registry(rng, base, bl_scans)
    has_nt = registry[registry["role"] == "nontarget"].groupby("pidx").size().reindex(range(len(base)), fill_value=0)
    bl_scans["nontarget"] = np.where(has_nt.to_numpy() > 0, "present", "absent")
    chosen = imaging.select_substudy(rng, base, outc, registry)
    sub_scans, sub_blocks, sub_truth, sub_fail = imaging.build_substudy(rng, base, outc, registry, bl_scans, chosen)
    fu_scans, fu_blocks, fu_fail = followup.build_followup(rng, base, outc, registry, bl_scans, set(chosen))
    risk = outcomes.car_impi_like(base)
    ht = hematotox_points(base)
    tox, tox_params = clinical.draw_toxicity(rng, base, risk, (ht.fillna(0) >= 2).to_numpy())
    bio, bio_params = clinical.draw_biomarkers(rng, base, outc)
    cyto_centres = {c.code for c in CENTRES if c.cytokines}
    day0, inflam_truth = inflammation.draw_day0_labs(rng, base, base["centre"].isin(cyto_centres).to_numpy())
    scans = pd.concat([bl_scans, pd.DataFrame(sub_scans + fu_scans)], ignore_index=True)
    scans["image"] = None
    scans = scans[tables.COLUMNS["scans"]].sort_values(["centre", "patient_id", "day"]).reset_index(drop=True)
    bl_rows = registry.drop(columns="pidx")
    out_tables = {
        "patients": tables.patients_table(base, outc, registry, bl_scans),
        "labs": tables.labs_table(base, day0, rng),
        "scans": scans,
        "lesions": _finish_lesions(bl_rows, [*sub_blocks, *fu_blocks]),
        "toxicity": tox[tables.COLUMNS["toxicity"]].reset_index(drop=True),
        "biomarkers": bio[tables.COLUMNS["biomarkers"]].sort_values(["centre", "patient_id", "day", "marker"])
        .reset_index(drop=True),
    }
    truth = {
        "label": LABEL, "seed": seed, "n_dev": n_dev, "n_val": n_val, "month_days": MONTH_DAYS,
        "centres": [{"code": c.code, "cohort": c.cohort, "ldh_uln": c.ldh_uln, "units": c.units,
                     "mtv_method": c.mtv_method} for c in CENTRES],
        "targets": {g: {k: (list(v) if isinstance(v, tuple) else v) for k, v in t.items()}
                    for g, t in COHORT_TARGETS.items()},
        "baseline": {"copula_variables": list(baseline.COPULA_VARIABLES),
                     "copula_correlation": baseline.LAB_CORRELATION.tolist()},
        "survival": surv_truth,
        "toxicity": tox_params, "biomarkers": bio_params, "inflammation": inflam_truth,
        "imaging_substudy": {"archetypes": dict(imaging.ARCHETYPES), "patients": sub_truth,
                             "shortfall": imaging.shortfall(chosen)},
        "patterns_of_failure": {"pattern_probs": followup.PATTERN_PROBS,
                                "lesion_log_or": followup.LESION_LOG_OR,
                                "lesion_intercept": followup.LESION_INTERCEPT,
                                "patient_random_effect_sd": followup.PATIENT_RE_SD,
                                "patients": sub_fail + fu_fail},
    }
    pet: dict = {}
    if with_pet:
        from cartlens.demo import pet_volumes
        pet = pet_volumes.build(rng, out_tables, [t["patient_id"] for t in sub_truth][:4])
        for (centre, pid, scan_id) in pet:
            m = ((scans["centre"] == centre) & (scans["patient_id"] == pid) & (scans["scan_id"] == scan_id))
            scans.loc[m, "image"] = pet_volumes.relative_path(centre, pid, scan_id)
    return DemoCohort(seed=seed, tables=out_tables, truth=truth, pet=pet)
