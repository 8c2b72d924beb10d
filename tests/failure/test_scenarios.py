"""Scenarios P1-P8 of patterns_of_failure.md §2.7 (expected values are the spec's table)."""

from __future__ import annotations

import numpy as np
import pytest
from failure_builders import les, scan, tables

from cartlens.failure import LesionMask, analyse

GRID = (40, 40, 40)


def cube(lo: tuple[int, int, int], hi: tuple[int, int, int]) -> LesionMask:
    """Voxels lo..hi-1 on a 1-mm grid (the baseline frame)."""
    a = np.zeros(GRID, bool)
    a[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]] = True
    return LesionMask(a, (1.0, 1.0, 1.0), registration="rigid_ct_per_region", residual_mm=1.5)


def pattern(res, pid="P"):
    row = res.patients.set_index("patient_id").loc[pid]
    return row["pattern"], row["pattern_sensitivity"], row["mixed_response"]


def failure_row(res, lid, pid="P"):
    fl = res.failure_lesions
    return fl[(fl["patient_id"] == pid) & (fl["lesion_id"] == lid)].iloc[0]


def index_row(res, lid, pid="P"):
    reg = res.registry
    return reg[(reg["patient_id"] == pid) & (reg["lesion_id"] == lid)].iloc[0]


def p1_tables():
    s = [scan("P", "BL", -5), scan("P", "FU1", 30), scan("P", "FU2", 90)]
    bl = [les("P", "BL", "A", "axillary", ldi=3.0, sdi=2.0, ds="5", suv=12),
          les("P", "BL", "B", "cervical", ldi=2.5, sdi=2.0, ds="5", suv=8),
          les("P", "BL", "C", "inguinal", ldi=2.2, sdi=1.8, ds="4", suv=6)]
    fu1 = [les("P", "FU1", x, site, state="too_small", ds="2") for x, site in
           (("A", "axillary"), ("B", "cervical"), ("C", "inguinal"))]
    fu2 = [les("P", "FU2", "A", "axillary", ldi=2.5, sdi=2.0, ds="5"),
           les("P", "FU2", "B", "cervical", state="too_small", ds="2"),
           les("P", "FU2", "C", "inguinal", state="too_small", ds="2")]
    return tables(s, bl + fu1 + fu2)


def test_p1_regrowth_of_one_index_node_is_strictly_local_with_mixed_response() -> None:
    res = analyse(p1_tables())
    assert pattern(res) == ("strictly_local", "strictly_local", True)    # B and C still DS 2
    a = index_row(res, "A")
    assert a["failed"] and a["failure_scan_id"] == "FU2" and a["subtype"] == "relapse_local"
    assert "metabolic" in a["failure_mode"]           # DS 5 back after DS 2 at FU1 (A9)
    assert not index_row(res, "B")["failed"] and not index_row(res, "C")["failed"]


def test_p1_with_masks_overlap_80_percent_is_local() -> None:
    # index A: 10x10x10 voxels; failure mask shares 8 of its 10 slices along x -> 80 % overlap
    masks = {("P", "BL", "A"): cube((10, 10, 10), (20, 20, 20)), ("P", "FU2", "A"): cube((12, 10, 10), (22, 20, 20))}
    res = analyse(p1_tables(), masks=masks)
    a = failure_row(res, "A")
    assert a["class"] == "local" and a["overlap_voxels"] == 800 and a["overlap_fraction"] == pytest.approx(0.8)
    assert pattern(res)[0] == "strictly_local"


def test_p2_new_liver_lesion_after_cmr_is_strictly_de_novo() -> None:
    sites = ("cervical", "axillary", "mediastinal", "iliac", "inguinal")
    s = [scan("P", "BL", -3), scan("P", "FU1", 30), scan("P", "FU3", 180)]
    rows = [les("P", "BL", f"N{i}", site, ldi=2.5, sdi=2.0, ds="4", suv=7) for i, site in enumerate(sites)]
    rows += [les("P", "FU1", f"N{i}", site, state="absent", ds="1") for i, site in enumerate(sites)]
    rows += [les("P", "FU3", f"N{i}", site, state="absent", ds="1") for i, site in enumerate(sites)]
    rows += [les("P", "FU3", "L1", "liver", ldi=2.4, sdi=2.0, ds="5")]
    res = analyse(tables(s, rows))
    assert pattern(res) == ("strictly_de_novo", "strictly_de_novo", True)
    liver = failure_row(res, "L1")
    assert liver["class"] == "de_novo" and liver["method"] == "organ_level"      # liver not involved before
    assert res.patients.iloc[0]["timing"] == "late"                              # day 180 > 90
    assert not res.registry["failed"].any()


def test_p3_bulky_avid_mediastinal_mass_progresses_plus_new_inguinal_node_is_mixed() -> None:
    s = [scan("P", "BL", -2), scan("P", "FU1", 30)]
    rows = [les("P", "BL", "M", "mediastinal", ldi=7.0, sdi=5.0, ds="5", suv=22),
            les("P", "BL", "X", "axillary", ldi=2.0, sdi=1.5, ds="4", suv=6),
            les("P", "FU1", "M", "mediastinal", ldi=8.5, sdi=6.0, ds="5", uptake="increased"),
            les("P", "FU1", "X", "axillary", state="too_small", ds="2"),
            les("P", "FU1", "NEW", "inguinal", ldi=2.0, sdi=1.6, ds="5")]
    res = analyse(tables(s, rows))
    assert pattern(res) == ("mixed", "mixed", True)
    m = index_row(res, "M")
    # 7.0 >= 5.0 cm and SUVmax 22 >= 10: a high-risk lesion, and it failed. Not by L-PD-LES: PPD 8.5 x 6.0
    # = 51 < 1.5 x (7 x 5) = 52.5 cm^2; by metabolic progression (DS 5, uptake increased vs baseline).
    assert m["bulky_5cm"] and m["suv_ge10"] and not m["extranodal"] and m["failed"]
    assert m["failure_mode"] == "metabolic" and m["subtype"] == "refractory_local"
    assert failure_row(res, "NEW")["class"] == "de_novo"
    assert res.patients.iloc[0]["timing"] == "early"


def p4_p5_scans(extra_fu: list[dict]) -> dict:
    s = [scan("P", "BL", -4), scan("P", "FU1", 90)]
    rows = [les("P", "BL", "A", "retroperitoneal", ldi=2.0, sdi=2.0, ds="5", suv=9),
            les("P", "BL", "B", "retroperitoneal", ldi=2.0, sdi=2.0, ds="5", suv=9)] + extra_fu
    return tables(s, rows)


def test_p4_new_node_6mm_from_index_mask_is_adjacent() -> None:
    t = p4_p5_scans([les("P", "FU1", "A", "retroperitoneal", state="absent", ds="1"),
                     les("P", "FU1", "B", "retroperitoneal", state="absent", ds="1"),
                     les("P", "FU1", "N", "retroperitoneal", ldi=1.8, sdi=1.6, ds="5")])
    # A occupies x 5..14; N starts at x 21: voxel edges 14.5 -> 20.5 = 6 mm apart (centres 7 mm; the
    # distance reported is centre to centre = the morphological dilation radius needed, 7 mm <= 10 mm)
    masks = {("P", "BL", "A"): cube((5, 5, 5), (15, 15, 15)), ("P", "BL", "B"): cube((5, 25, 25), (15, 35, 35)),
             ("P", "FU1", "N"): cube((21, 5, 5), (27, 11, 11))}
    res = analyse(t, masks=masks)
    n = failure_row(res, "N")
    assert n["class"] == "adjacent" and n["method"] == "mask" and n["overlap_voxels"] == 0
    assert n["distance_mm"] == pytest.approx(7.0) and n["adjacent_index_ids"] == ("A",)
    assert pattern(res)[:2] == ("strictly_de_novo", "strictly_local")       # main vs sensitivity
    a = index_row(res, "A")
    assert not a["failed"] and a["failed_sensitivity"]
    assert not index_row(res, "B")["failed_sensitivity"]


def test_p4_margin_is_inclusive_and_configurable() -> None:
    t = p4_p5_scans([les("P", "FU1", "N", "retroperitoneal", ldi=1.8, sdi=1.6, ds="5")])
    base = {("P", "BL", "A"): cube((5, 5, 5), (15, 15, 15))}
    at10 = {**base, ("P", "FU1", "N"): cube((24, 5, 5), (30, 11, 11))}      # centres 14 -> 24: 10 mm
    at11 = {**base, ("P", "FU1", "N"): cube((25, 5, 5), (30, 11, 11))}      # 11 mm
    assert failure_row(analyse(t, masks=at10), "N")["class"] == "adjacent"
    assert failure_row(analyse(t, masks=at11), "N")["class"] == "de_novo"
    assert failure_row(analyse(t, masks=at11, margin_mm=11.0), "N")["class"] == "adjacent"


def test_p5_one_mass_over_two_index_nodes_fails_both() -> None:
    t = p4_p5_scans([les("P", "FU1", "MASS", "retroperitoneal", ldi=6.0, sdi=4.0, ds="5")])
    masks = {("P", "BL", "A"): cube((5, 5, 5), (15, 15, 15)), ("P", "BL", "B"): cube((20, 5, 5), (30, 15, 15)),
             ("P", "FU1", "MASS"): cube((10, 5, 5), (25, 15, 15))}
    res = analyse(t, masks=masks)
    mass = failure_row(res, "MASS")
    assert mass["class"] == "local" and set(mass["linked_index_ids"]) == {"A", "B"}
    assert index_row(res, "A")["failed"] and index_row(res, "B")["failed"]
    assert index_row(res, "A")["failure_mode"] == "overlap"
    assert pattern(res)[0] == "strictly_local"


def test_p5_mass_reported_under_index_id_also_fails_the_other_node() -> None:
    t = p4_p5_scans([les("P", "FU1", "A", "retroperitoneal", ldi=6.0, sdi=4.0, ds="5", uptake="increased")])
    masks = {("P", "BL", "A"): cube((5, 5, 5), (15, 15, 15)), ("P", "BL", "B"): cube((20, 5, 5), (30, 15, 15)),
             ("P", "FU1", "A"): cube((5, 5, 5), (25, 15, 15))}
    res = analyse(t, masks=masks)
    assert set(failure_row(res, "A")["linked_index_ids"]) == {"A", "B"}
    assert index_row(res, "B")["failed"]


@pytest.mark.parametrize("relapse_id", ["SPL", "SPL_NEW"])
def test_p6_diffuse_splenic_relapse_is_local_organ_level(relapse_id: str) -> None:
    s = [scan("P", "BL", -5, spleen_cm=15.0), scan("P", "FU1", 30, spleen_cm=12.0), scan("P", "FU2", 120, spleen_cm=15.5)]
    rows = [les("P", "BL", "SPL", "spleen", state="too_small", ds="5", suv=11),
            les("P", "BL", "N1", "axillary", ldi=2.5, sdi=2.0, ds="4", suv=6),
            les("P", "FU1", "SPL", "spleen", state="absent", ds="2"),
            les("P", "FU1", "N1", "axillary", state="absent", ds="1"),
            les("P", "FU2", "N1", "axillary", state="absent", ds="1"),
            les("P", "FU2", relapse_id, "spleen", state="too_small", ds="5")]
    if relapse_id != "SPL":
        rows.append(les("P", "FU2", "SPL", "spleen", state="absent", ds="2"))
    res = analyse(tables(s, rows))
    f = failure_row(res, relapse_id)
    assert f["class"] == "local" and bool(f["organ_level"])
    assert index_row(res, "SPL")["failed"]
    assert not index_row(res, "SPL")["extranodal"]           # spleen counts as nodal (Lugano)
    assert pattern(res)[0] == "strictly_local"


@pytest.mark.parametrize("with_rows", [True, False])
def test_p7_new_marrow_involvement_is_de_novo(with_rows: bool) -> None:
    s = [scan("P", "BL", -5, marrow="not_involved"), scan("P", "FU1", 30, marrow="not_involved"),
         scan("P", "FU2", 90, marrow="involved")]
    rows = [les("P", "BL", "N1", "mediastinal", ldi=3.0, sdi=2.0, ds="5", suv=14),
            les("P", "FU1", "N1", "mediastinal", state="too_small", ds="2"),
            les("P", "FU2", "N1", "mediastinal", state="too_small", ds="2")]
    if with_rows:
        rows += [les("P", "FU2", "BM1", "bone_marrow", state="too_small", ds="5"),
                 les("P", "FU2", "BM2", "bone_marrow", state="too_small", ds="5")]
    res = analyse(tables(s, rows))
    ids = ("BM1", "BM2") if with_rows else ("marrow",)
    for lid in ids:
        f = failure_row(res, lid)
        assert f["class"] == "de_novo" and bool(f["organ_level"])
    assert pattern(res) == ("strictly_de_novo", "strictly_de_novo", True)


def test_p8_sarcoid_like_hilar_node_ds_x_is_not_a_failure_lesion() -> None:
    s = [scan("P", "BL", -5), scan("P", "FU1", 30), scan("P", "FU2", 90)]
    rows = [les("P", "BL", "A", "inguinal", ldi=3.0, sdi=2.5, ds="5", suv=12),
            les("P", "FU1", "A", "inguinal", ldi=1.5, sdi=1.0, ds="3"),
            les("P", "FU2", "A", "inguinal", ldi=3.0, sdi=2.2, ds="5"),
            les("P", "FU2", "H", "hilar", ldi=1.8, sdi=1.2, ds="X")]
    res = analyse(tables(s, rows))
    h = failure_row(res, "H")
    assert h["class"] is None and h["excluded"] == "deauville_x"
    assert pattern(res)[0] == "strictly_local"                 # not mixed: the DS X node does not count
    lesions = {x["lesion_id"]: x for x in res.to_dict()["lesions"]}
    assert lesions["H"]["failed"] is False and lesions["H"]["class"] is None


def test_p8_ds_x_alone_is_no_progression() -> None:
    s = [scan("P", "BL", -5), scan("P", "FU1", 30)]
    rows = [les("P", "BL", "A", "inguinal", ldi=3.0, sdi=2.5, ds="5", suv=12),
            les("P", "FU1", "A", "inguinal", state="too_small", ds="2"),
            les("P", "FU1", "H", "hilar", ldi=1.8, sdi=1.2, ds="X", attribution="not_lymphoma")]
    res = analyse(tables(s, rows))
    assert pattern(res) == (None, None, None)
    assert res.summary_dict()["patients_with_pd"] == 0


def test_p6_with_masks_the_spleen_rule_still_applies_and_overlap_is_recorded() -> None:
    s = [scan("P", "BL", -5, spleen_cm=15.0), scan("P", "FU1", 30, spleen_cm=12.0), scan("P", "FU2", 120)]
    rows = [les("P", "BL", "SPL", "spleen", state="too_small", ds="5", suv=11),
            les("P", "FU1", "SPL", "spleen", state="absent", ds="2"),
            les("P", "FU2", "SPL", "spleen", state="absent", ds="2"),
            les("P", "FU2", "S2", "spleen", ldi=2.0, sdi=1.5, ds="5")]
    masks = {("P", "BL", "SPL"): cube((5, 5, 5), (15, 15, 15)), ("P", "FU2", "S2"): cube((30, 30, 30), (35, 35, 35))}
    f = failure_row(analyse(tables(s, rows), masks=masks), "S2")
    assert f["class"] == "local" and bool(f["organ_level"]) and f["overlap_voxels"] == 0


@pytest.mark.parametrize(("lo", "expected"), [((12, 5, 5), "local"), ((30, 30, 30), "de_novo")])
def test_liver_with_masks_follows_the_mask_rule(lo, expected) -> None:
    s = [scan("P", "BL", -5), scan("P", "FU1", 60)]
    rows = [les("P", "BL", "LIV", "liver", ldi=2.5, sdi=2.0, ds="5", suv=12),
            les("P", "FU1", "LIV", "liver", state="absent", ds="1"),
            les("P", "FU1", "L2", "liver", ldi=2.0, sdi=1.5, ds="5")]
    hi = tuple(x + 5 for x in lo)
    masks = {("P", "BL", "LIV"): cube((5, 5, 5), (15, 15, 15)), ("P", "FU1", "L2"): cube(lo, hi)}
    f = failure_row(analyse(tables(s, rows), masks=masks), "L2")
    assert f["class"] == expected and f["method"] == "mask" and bool(f["organ_level"]) == (expected == "local")


def test_events_per_variable_warning_on_a_tiny_cohort() -> None:
    """P1 has one failing lesion: EPV = 1 event / 3 terms = 0.33 < 10, so the warning is raised."""
    res = analyse(p1_tables())
    m = res.models
    assert m["n_events"] == 1 and m["n_patients_with_events"] == 1
    assert m["epv"] == pytest.approx(1 / 3) and m["epv_warning"]
    assert any("events per variable 0.3 < 10" in msg for msg in m["messages"])
    assert res.to_dict()["model_info"]["epv_warning"] is True
