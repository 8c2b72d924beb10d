"""Rule-level tests of the failure core: registry features, L-PD-LES, censoring, fallback geometry,
overrides, input errors. Expected values are worked out by hand in each test."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pandas as pd
import pytest
from failure_builders import les, scan, tables

from cartlens.failure import FailureInputError, LesionMask, analyse
from cartlens.failure.local import Size, pd_single_lesion
from cartlens.failure.patterns import FailureOptions, patient_pattern, timing


def simple(fu_rows: list[dict], bl_rows: list[dict] | None = None, days=(30, 90), **scan_kw) -> dict:
    s = [scan("P", "BL", -5)] + [scan("P", f"FU{i + 1}", d) for i, d in enumerate(days)]
    bl = bl_rows if bl_rows is not None else [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12)]
    return tables(s, bl + fu_rows)


# ---------------------------------------------------------------- registry (spec §2.1) ---
def test_registry_cut_points_are_inclusive_and_exact() -> None:
    bl = [les("P", "BL", "B50", "mediastinal", ldi=5.0, sdi=3.0, suv=10.0, ds="5"),
          les("P", "BL", "B49", "mediastinal", ldi=4.99, sdi=3.0, suv=9.99, ds="5"),
          les("P", "BL", "SMALL", "cervical", state="too_small", suv=None, ds="4"),
          les("P", "BL", "SPL", "spleen", state="too_small", ds="5"),
          les("P", "BL", "WAL", "waldeyer", ldi=2.0, sdi=1.0, ds="5"),
          les("P", "BL", "LIV", "liver", ldi=2.0, sdi=1.0, ds="5"),
          les("P", "BL", "XX", "hilar", ldi=2.0, sdi=1.0, ds="X"),
          les("P", "BL", "GONE", "inguinal", state="absent")]
    reg = analyse(simple([], bl), fit_models=False).registry.set_index("lesion_id")
    assert set(reg.index) == {"B50", "B49", "SMALL", "SPL", "WAL", "LIV"}     # DS X and absent are not disease
    assert reg.loc["B50", "bulky_5cm"] and reg.loc["B50", "suv_ge10"]           # 5.0 >= 5.0; 10.0 >= 10.0
    assert not reg.loc["B49", "bulky_5cm"] and not reg.loc["B49", "suv_ge10"]
    assert reg.loc["SMALL", "bulky_5cm"] == False and pd.isna(reg.loc["SMALL", "suv_ge10"])
    # Lugano staging: spleen and Waldeyer's ring are nodal whatever the nodal column says; liver is extranodal
    assert reg.loc["SPL", "extranodal"] == False and reg.loc["WAL", "extranodal"] == False
    assert reg.loc["LIV", "extranodal"] == True


# ---------------------------------------------------------------- L-PD-LES (§2.2 b) ---
def test_l_pd_les_at_exactly_half_a_centimetre() -> None:
    # nadir 1.8 x 1.2 (PPD 2.16), now 2.3 x 1.5 (PPD 3.45 >= 1.5 x 2.16 = 3.24; LDi +0.5 >= 0.5; 2.3 > 1.5)
    assert pd_single_lesion(Size(D("2.3"), D("1.5")), D("1.8"), D("1.2"), D("2.16"))
    # 2.2 x 1.5: PPD 3.30 >= 3.24 but LDi +0.4 and SDi +0.3 are both < 0.5
    assert not pd_single_lesion(Size(D("2.2"), D("1.5")), D("1.8"), D("1.2"), D("2.16"))
    # nadir LDi 2.5 > 2 cm needs +1.0 cm: 3.4 x 2.5 vs 2.5 x 2.0 (PPD 8.5 >= 7.5) grows only 0.9 / 0.5
    assert not pd_single_lesion(Size(D("3.4"), D("2.5")), D("2.5"), D("2.0"), D("5.0"))
    assert pd_single_lesion(Size(D("3.5"), D("2.5")), D("2.5"), D("2.0"), D("5.0"))
    # LDi must exceed 1.5 cm (strict): 1.5 x 1.5 from 0 (resolved) is not PD
    assert not pd_single_lesion(Size(D("1.5"), D("1.5")), D(0), D(0), D(0))


def test_anatomic_progression_without_pet_fails_the_lesion_refractory() -> None:
    # BL 3.0 x 2.0 -> FU1 2.8 x 2.0 (no response: PPD 5.6 > 3.0) -> FU2 4.0 x 2.0: LDi +1.2 >= 1.0 from nadir
    # 2.8, PPD 8.0 >= 1.5 x 5.6 = 8.4? no. -> FU2 4.0 x 2.2: PPD 8.8 >= 8.4, LDi +1.2 -> L-PD-LES.
    t = simple([les("P", "FU1", "A", "axillary", ldi=2.8, sdi=2.0), les("P", "FU2", "A", "axillary", ldi=4.0, sdi=2.2)])
    a = analyse(t, fit_models=False).registry.iloc[0]
    assert a["failed"] and a["failure_mode"] == "anatomic" and a["subtype"] == "refractory_local"
    t = simple([les("P", "FU1", "A", "axillary", ldi=2.8, sdi=2.0), les("P", "FU2", "A", "axillary", ldi=4.0, sdi=2.0)])
    assert not analyse(t, fit_models=False).registry.iloc[0]["failed"]


def test_regrowth_of_resolved_extranodal_lesion_needs_more_than_1cm() -> None:
    bl = [les("P", "BL", "L", "lung", ldi=2.0, sdi=1.5, suv=8)]
    grow = lambda ldi: simple([les("P", "FU1", "L", "lung", state="absent"),
                               les("P", "FU2", "L", "lung", ldi=ldi, sdi=0.8)], bl)
    assert analyse(grow(1.1), fit_models=False).registry.iloc[0]["failure_mode"] == "regrowth"
    assert not analyse(grow(1.0), fit_models=False).registry.iloc[0]["failed"]      # A13: > 1.0 cm


# ---------------------------------------------------------------- censoring (§2.2) ---
def regrow_a() -> dict:
    return simple([les("P", "FU1", "A", "axillary", state="too_small", ds="2"),
                   les("P", "FU2", "A", "axillary", ldi=3.0, sdi=2.0, ds="5")])


def test_rt_to_the_lesion_before_failure_censors_it() -> None:
    t = regrow_a()
    t["later_therapy"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "day": 60, "type": "rt", "lesion_id": "A"}])
    res = analyse(t, fit_models=False)
    a = res.registry.iloc[0]
    assert not a["failed"] and a["censor_day"] == 60 and a["last_evaluable_day"] == 30


def test_systemic_therapy_before_pd_ends_follow_up() -> None:
    t = regrow_a()
    t["later_therapy"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "day": 89, "type": "systemic"}])
    res = analyse(t, fit_models=False)
    assert res.summary_dict()["patients_with_pd"] == 0 and not res.registry.iloc[0]["failed"]
    t["later_therapy"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "day": 90, "type": "systemic"}])
    assert analyse(t, fit_models=False).summary_dict()["patients_with_pd"] == 1   # scan on the therapy day counts


def test_death_before_the_scan_censors() -> None:
    t = regrow_a()
    t["patients"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "os_days": 80, "os_event": 1}])
    assert analyse(t, fit_models=False).summary_dict()["patients_with_pd"] == 0


# ---------------------------------------------------------------- geometry (§2.3) ---
def centroid_case(dx_mm: float, site: str = "axillary", with_centroids: bool = True, split: bool = False) -> pd.Series:
    c = {"centroid_x_mm": 0.0, "centroid_y_mm": 0.0, "centroid_z_mm": 0.0} if with_centroids else {}
    n = {"centroid_x_mm": dx_mm, "centroid_y_mm": 0.0, "centroid_z_mm": 0.0} if with_centroids else {}
    bl = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12, **c)]
    t = simple([les("P", "FU1", "A", "axillary", state="too_small", ds="2", **c),
                les("P", "FU2", "A", "axillary", state="too_small", ds="2", **c),
                les("P", "FU2", "N", site, ldi=2.0, sdi=1.5, ds="5", **n)], bl)
    fl = analyse(t, centroid_split=split, fit_models=False).failure_lesions
    return fl[fl["lesion_id"] == "N"].iloc[0]


@pytest.mark.parametrize(("dx", "literal", "split"), [
    (15.0, "local", "local"),         # inside the index lesion: 15 <= LDi/2 = 15 mm
    (15.1, "local", "adjacent"),      # beyond the edge, within LDi/2 + m = 25 mm: linked (literal §2.3 step 3)
    (25.0, "local", "adjacent"),
    (25.1, "de_novo", "de_novo"),
])
def test_centroid_fallback_without_masks(dx: float, literal: str, split: str) -> None:
    row = centroid_case(dx)
    assert row["class"] == literal and row["method"] == "centroid" and row["distance_mm"] == pytest.approx(dx)
    assert centroid_case(dx, split=True)["class"] == split


def test_fallback_other_station_is_de_novo_and_same_station_without_geometry_needs_review() -> None:
    other = centroid_case(5.0, site="inguinal")
    assert other["class"] == "de_novo" and other["method"] == "station"
    blind = centroid_case(0.0, with_centroids=False)
    assert blind["class"] == "adjacent" and blind["method"] == "station_only" and blind["needs_review"]


def test_overlap_below_tolerance_fraction_is_adjacent_not_local() -> None:
    a = np.zeros((30, 30, 30), bool)
    a[0:10, 0:10, 0:10] = True                                  # index, 1000 voxels
    f = np.zeros_like(a)
    f[9:29, 0:10, 0:10] = True                                  # 2000 voxels, 100 overlap = 5 %
    masks = {("P", "BL", "A"): LesionMask(a, (1.0, 1.0, 1.0)), ("P", "FU2", "N"): LesionMask(f, (1.0, 1.0, 1.0))}
    t = simple([les("P", "FU1", "A", "axillary", state="too_small", ds="2"),
                les("P", "FU2", "A", "axillary", state="too_small", ds="2"),
                les("P", "FU2", "N", "axillary", ldi=2.0, sdi=1.0, ds="5")])
    fl = analyse(t, masks=masks, fit_models=False).failure_lesions.set_index("lesion_id")
    assert fl.loc["N", "class"] == "local" and fl.loc["N", "overlap_voxels"] == 100
    fl = analyse(t, masks=masks, min_overlap_fraction=0.10, fit_models=False).failure_lesions.set_index("lesion_id")
    assert fl.loc["N", "class"] == "adjacent"


def test_masks_on_different_grids_are_refused() -> None:
    masks = {("P", "BL", "A"): LesionMask(np.ones((4, 4, 4), bool), (1.0, 1.0, 1.0)),
             ("P", "FU2", "N"): LesionMask(np.ones((4, 4, 4), bool), (2.0, 2.0, 2.0))}
    t = simple([les("P", "FU2", "N", "axillary", ldi=2.0, sdi=1.0, ds="5")])
    with pytest.raises(ValueError, match="not on the same grid"):
        analyse(t, masks=masks, fit_models=False)


# ---------------------------------------------------------------- overrides ---
def adjacent_case() -> dict:
    return simple([les("P", "FU1", "A", "axillary", state="too_small", ds="2"),
                   les("P", "FU2", "A", "axillary", state="too_small", ds="2"),
                   les("P", "FU2", "N", "axillary", ldi=2.0, sdi=1.5, ds="5")])


def test_reader_class_override_keeps_the_automatic_call() -> None:
    ovr = [{"patient_id": "P", "lesion_id": "N", "field": "class", "value": "local", "linked_index_ids": "A",
            "reader": "R1", "note": "same nodal bed"}]
    res = analyse(adjacent_case(), overrides=ovr, fit_models=False)
    n = res.failure_lesions.set_index("lesion_id").loc["N"]
    assert n["auto_class"] == "adjacent" and n["class"] == "local" and "R1" in n["override"]
    assert res.registry.iloc[0]["failed"] and res.patients.iloc[0]["pattern"] == "strictly_local"


def test_reader_exclude_and_failed_overrides() -> None:
    ovr = pd.DataFrame([{"patient_id": "P", "lesion_id": "N", "field": "exclude", "value": "true"},
                        {"patient_id": "P", "lesion_id": "A", "field": "failed", "value": "1"}])
    res = analyse(adjacent_case(), overrides=ovr, fit_models=False)
    n = res.failure_lesions.set_index("lesion_id").loc["N"]
    assert n["excluded"] == "reader" and n["auto_excluded"] is None and n["class"] is None
    a = res.registry.iloc[0]
    assert a["failed"] and not a["auto_failed"]
    assert res.patients.iloc[0]["pattern"] is None           # no failure lesion left at the PD scan


def test_bad_override_is_located() -> None:
    with pytest.raises(FailureInputError, match=r"overrides:1:value: 'near' is not one of"):
        analyse(adjacent_case(), overrides=[{"patient_id": "P", "lesion_id": "N", "field": "class", "value": "near"}])


# ---------------------------------------------------------------- input errors ---
def test_missing_column_and_bad_values_are_all_reported() -> None:
    t = adjacent_case()
    t["lesions"].loc[0, "sdi_cm"] = 3.5                      # > ldi 3.0
    t["lesions"].loc[1, "deauville"] = "7"
    with pytest.raises(FailureInputError) as info:
        analyse(t)
    text = str(info.value)
    assert "lesions:2:sdi_cm: 3.5 cm must not exceed ldi_cm (3.0 cm)" in text
    assert "lesions:3:deauville: '7' is not a Deauville score" in text
    with pytest.raises(FailureInputError, match="lesions:1:state: required column missing"):
        analyse({"scans": t["scans"], "lesions": t["lesions"].drop(columns="state")})
    with pytest.raises(FailureInputError, match="scans:0:-: table required"):
        analyse({"lesions": t["lesions"]})


def test_unknown_criterion_is_refused() -> None:
    with pytest.raises(ValueError, match="criterion must be one of"):
        analyse(adjacent_case(), criterion="who")


def test_precomputed_response_table_decides_pd() -> None:
    t = adjacent_case()
    t["response"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "scan_id": "FU1", "criterion": "recil",
                                   "category": "PD"}])
    res = analyse(t, criterion="recil", fit_models=False)
    assert res.pd_source == "response table"
    row = res.patients.iloc[0]
    assert row["first_pd_scan_id"] == "FU1" and row["pattern"] is None        # nothing progressing at FU1


# ---------------------------------------------------------------- small pure rules ---
@pytest.mark.parametrize(("day", "label"), [(30, "early"), (31, "intermediate"), (90, "intermediate"), (91, "late")])
def test_timing_bands(day: int, label: str) -> None:
    assert timing(D(day)) == label


def test_patient_pattern_folds_adjacent() -> None:
    assert patient_pattern(["local", "adjacent"]) == "mixed"
    assert patient_pattern(["local", "adjacent"], "local") == "strictly_local"
    assert patient_pattern([]) is None


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="margin_mm must be a finite number >= 0"):
        FailureOptions(margin_mm=-1)


# ---------------------------------------------------------------- PD without a lesion row ---
@pytest.mark.parametrize(("spleen_cm", "expected"), [((15.0, 12.0, 16.0), "local"), ((11.0, 11.0, 14.0), "de_novo")])
def test_spleen_progression_without_lesion_rows_uses_the_organ_rule(spleen_cm, expected) -> None:
    """Lugano L-PD-SPL (reason SPLEEN): spleen involved before (> 13 cm, Lugano) -> LOCAL organ level;
    new splenomegaly (11 -> 14 cm: > 13 cm and +3 cm >= 2 cm, A5) -> DE_NOVO."""
    s = [scan("P", sid, d, spleen_cm=cm) for sid, d, cm in zip(("BL", "FU1", "FU2"), (-5, 30, 90), spleen_cm)]
    rows = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12),
            les("P", "FU1", "A", "axillary", state="too_small", ds="2"),
            les("P", "FU2", "A", "axillary", state="too_small", ds="2")]
    res = analyse(tables(s, rows), fit_models=False)
    fl = res.failure_lesions.set_index("lesion_id")
    assert fl.loc["spleen", "class"] == expected and fl.loc["spleen", "method"] == "organ_level"
    assert res.patients.iloc[0]["pattern"] == ("strictly_local" if expected == "local" else "strictly_de_novo")


def test_unequivocal_nontarget_progression_is_local_and_flagged() -> None:
    s = [scan("P", "BL", -5, nontarget="present"), scan("P", "FU1", 30, nontarget="present"),
         scan("P", "FU2", 90, nontarget="unequivocal_progression")]
    rows = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12),
            les("P", "FU1", "A", "axillary", ldi=2.0, sdi=1.0, ds="3"),
            les("P", "FU2", "A", "axillary", ldi=2.0, sdi=1.0, ds="3")]
    res = analyse(tables(s, rows), fit_models=False)
    nt = res.failure_lesions.set_index("lesion_id").loc["nontarget"]
    assert nt["class"] == "local" and nt["needs_review"] and nt["linked_index_ids"] == ()
    assert res.patients.iloc[0]["pattern"] == "strictly_local" and not res.registry.iloc[0]["failed"]


def test_unmeasurable_baseline_starts_the_nadir_at_the_first_measurement() -> None:
    """Baseline not evaluable: the nadir starts at FU1 (2.0 x 1.5); FU2 3.1 x 2.0 grows LDi +1.1 >= 0.5
    (nadir LDi 2.0 <= 2 cm), PPD 6.2 >= 1.5 x 3.0 -> L-PD-LES. And the patient without a baseline scan
    is reported by count."""
    bl = [les("P", "BL", "A", "axillary", state="not_evaluable", ds="5", suv=12)]
    t = simple([les("P", "FU1", "A", "axillary", ldi=2.0, sdi=1.5, ds="4"),
                les("P", "FU2", "A", "axillary", ldi=3.1, sdi=2.0, ds="4")], bl)
    t["scans"] = pd.concat([t["scans"], pd.DataFrame([scan("Q", "FU1", 30)])], ignore_index=True)
    res = analyse(t, fit_models=False)
    assert "anatomic" in res.registry.iloc[0]["failure_mode"]
    assert res.messages == ("1 patient(s) without a scan at day <= 0 (no index lesions) were left out",)


def test_missing_required_value_is_located() -> None:
    t = adjacent_case()
    t["scans"].loc[1, "day"] = None
    with pytest.raises(FailureInputError, match="scans:3:day: required value missing"):
        analyse(t)


def test_registry_records_bridging() -> None:
    bl = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12, bridging_rt=True),
          les("P", "BL", "B", "inguinal", ldi=2.0, sdi=1.0, ds="4", suv=5, bridging_rt=False)]
    t = simple([], bl)
    t["patients"] = pd.DataFrame([{"patient_id": "P", "centre": "C1", "bridging": "combined"}])
    reg = analyse(t, fit_models=False).registry.set_index("lesion_id")
    assert reg.loc["A", "bridging_rt"] == True and reg.loc["B", "bridging_rt"] == False
    assert (reg["bridging_type"] == "combined").all() and reg["bridging_systemic"].all()


def test_restricted_cubic_spline_basis_by_hand() -> None:
    """Harrell's 3-knot basis (rms::rcspline.eval, norm = 2) with knots 1, 2, 4:
    f(x) = [(x-1)+^3 - (x-2)+^3 * 3/2 + (x-4)+^3 * 1/2] / 9.
    f(1.5) = 0.125 / 9; f(4) = (27 - 1.5 * 8) / 9 = 15/9; f(5) = (64 - 1.5 * 27 + 0.5) / 9 = 24/9;
    f(6) = (125 - 1.5 * 64 + 0.5 * 8) / 9 = 33/9: linear beyond the last knot (the cubic terms cancel)."""
    from cartlens.failure.lesion_model import rcs_basis

    f = rcs_basis(np.array([0.5, 1.5, 4.0, 5.0, 6.0]), np.array([1.0, 2.0, 4.0]))
    assert f[0] == 0.0
    assert f[1] == pytest.approx(0.125 / 9)
    assert f[2:].tolist() == pytest.approx([15 / 9, 24 / 9, 33 / 9])
