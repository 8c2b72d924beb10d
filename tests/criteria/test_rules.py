"""Rule-by-rule tests at the exact thresholds, with the arithmetic written out (response_criteria.md)."""

from __future__ import annotations

import pandas as pd
import pytest

from cartlens.criteria import ResponseOptions, assess

from .helpers import baseline, lesion, run, scan, verdict

BL = scan("BL", -5, deterioration=None)


def three(scan_id: str, sizes, *, ds=None, uptake=None, sites=("retroperitoneal", "axillary", "iliac"),
          nodal=(True, True, True)):
    """Rows for T1-T3 on one scan; a size of None means absent, "small" means too small."""
    rows = []
    for i, (size, site, nod) in enumerate(zip(sizes, sites, nodal), start=1):
        if size == "small":
            rows.append(lesion(scan_id, f"T{i}", site=site, nodal=nod, state="too_small", ds=ds, uptake=uptake))
        elif size is None:
            rows.append(lesion(scan_id, f"T{i}", site=site, nodal=nod, state="absent"))
        else:
            rows.append(lesion(scan_id, f"T{i}", *size, site=site, nodal=nod, ds=ds, uptake=uptake))
    return rows


def bl_three(sizes=((4.0, 3.0), (3.0, 2.0), (2.5, 2.0)), sites=("retroperitoneal", "axillary", "iliac"),
             nodal=(True, True, True)):
    return [lesion("BL", f"T{i}", *size, site=site, nodal=nod, role="target", ds="5", suvmax=18.0)
            for i, (size, site, nod) in enumerate(zip(sizes, sites, nodal), start=1)]


# ---------------------------------------------------------------- L-PD-LES (Lugano 2014 Table 3)
def lpdles_case():
    # T1 nadir 1.8 x 1.2 (PPD 2.16) -> 2.3 x 1.5 (PPD 3.45 = 1.597 x nadir); LDi 2.3 > 1.5 cm;
    # LDi grows by exactly 0.5 cm (nadir LDi 1.8 <= 2 cm -> step 0.5). Float gives 0.4999999999999998.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (baseline() + three("FU1", [(1.8, 1.2), (2.0, 1.5), (1.5, 1.0)])
           + three("FU2", [(2.3, 1.5), (2.0, 1.5), (1.5, 1.0)]))
    return scans, les


def test_l_pd_les_at_exactly_half_a_centimetre() -> None:
    out = run(*lpdles_case())
    assert verdict(out, "FU2", "lugano") == ("PD", ["TL"])
    row = out[(out.scan_id == "FU2") & (out.criterion == "lugano")].iloc[0]
    assert "L-PD-LES" in row.rules
    # SPD FU1 = 2.16 + 3.0 + 1.5 = 6.66; FU2 = 3.45 + 3.0 + 1.5 = 7.95 (+19.4 % < 50 %) -> LYRIC IR2b.
    assert verdict(out, "FU2", "lyric") == ("IR2b", ["TL"])
    assert row.spd == pytest.approx(7.95)
    assert row.spd_change_nadir_pct == pytest.approx((7.95 - 6.66) / 6.66 * 100)
    # RECIL: SLD 5.3 -> 5.8 (+9.4 % from nadir), 5.8 vs 9.5 at BL = -38.9 % -> PR.
    assert verdict(out, "FU2", "recil") == ("PR", [])


def test_l_pd_les_strict_alternative_a2() -> None:
    out = run(*lpdles_case(), options=ResponseOptions(inclusive=False))
    # 0.5 cm is no longer enough; SPD 7.95 vs 23.0 = -65.4 % -> CT PR (CT-only scans).
    assert verdict(out, "FU2", "lugano") == ("PR", [])


def size_class_case():
    # T1 nadir 2.0 x 1.5 (PPD 3.0) -> 2.6 x 1.8 (PPD 4.68 = 1.56 x): LDi +0.6 cm, SDi +0.3 cm.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (baseline() + three("FU1", [(2.0, 1.5), (2.0, 1.5), (1.5, 1.0)])
           + three("FU2", [(2.6, 1.8), (2.0, 1.5), (1.5, 1.0)]))
    return scans, les


def test_size_class_from_nadir_ldi_a3() -> None:
    # Default: nadir LDi 2.0 cm is "<= 2 cm" -> +0.5 cm suffices -> PD.
    assert verdict(run(*size_class_case()), "FU2", "lugano") == ("PD", ["TL"])
    # Alternative: current LDi 2.6 cm is "> 2 cm" -> needs +1.0 cm -> no PD; SPD 4.68+3+1.5 = 9.18 (-60 %) PR.
    alt = run(*size_class_case(), options=ResponseOptions(lugano_size_class="current"))
    assert verdict(alt, "FU2", "lugano") == ("PR", [])


@pytest.mark.parametrize(("size", "expected"), [((1.5, 1.2), "CR"), ((1.6, 1.2), "PD")])
def test_regrowth_of_resolved_node_needs_ldi_above_1_5_cm(size, expected) -> None:
    # T3 resolves at FU1, regrows at FU2. 1.5 cm is not "> 1.5 cm"; 1.6 cm is (L-PD-LES with nadir 0).
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = baseline() + three("FU1", [(1.2, 1.0), (1.0, 0.8), None]) + three("FU2", [(1.2, 1.0), (1.0, 0.8), size])
    out = run(scans, les)
    cat, reasons = verdict(out, "FU2", "lugano")
    assert cat == expected
    if expected == "PD":
        assert reasons == ["TL"]
        row = out[(out.scan_id == "FU2") & (out.criterion == "lugano")].iloc[0]
        assert "REGROWTH" in row["flags"]
        alt = run(scans, les, options=ResponseOptions(regrowth_reason="NL"))   # A13 alternative
        assert verdict(alt, "FU2", "lugano") == ("PD", ["NL", "TL"])  # L-PD-LES itself still says TL


# ---------------------------------------------------------------- SPD +50 % from nadir (Cheson, LYRIC)
def spd50_case(day: int, deterioration=False, t3=(2.4, 1.5)):
    # Nadir FU1: 2x1.5 + 2x1.5 + 2x1 = 8.0 cm^2. FU2: 2.4x2.0 + 2.4x1.5 + 2.4x1.5 = 4.8+3.6+3.6 = 12.0 = +50 %.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", day, "ct", deterioration=deterioration)]
    les = (baseline() + three("FU1", [(2.0, 1.5), (2.0, 1.5), (2.0, 1.0)])
           + three("FU2", [(2.4, 2.0), (2.4, 1.5), t3]))
    return scans, les


def test_cheson_spd_plus_50_percent_exactly_table_only_a17() -> None:
    opts = ResponseOptions(cheson_single_node=False)
    out = run(*spd50_case(90), options=opts)
    row = out[(out.scan_id == "FU2") & (out.criterion == "cheson2007")].iloc[0]
    assert (row.category, list(row.reasons)) == ("PD", ["TL"]) and "C-PD-SPD" in row.rules
    # T3 2.4 x 1.4 -> SPD 4.8 + 3.6 + 3.36 = 11.76 < 12.0 -> no C-PD-SPD; vs BL 23: -48.9 % -> SD.
    below = run(*spd50_case(90, t3=(2.4, 1.4)), options=opts)
    assert verdict(below, "FU2", "cheson2007") == ("SD", [])


@pytest.mark.parametrize(("day", "deterioration", "options", "expected"), [
    (84, False, {}, "IR1"),                                   # day 84 is inside the 12 weeks (A21)
    (85, False, {}, "PD"),                                    # day 85 is after week 12 -> Y-PD
    (84, True, {}, "PD"),                                     # IR1 with clinical deterioration -> PD
    (84, None, {}, "IR1"),                                    # A26: missing -> IR1 with a flag
    (84, None, {"lyric_missing_deterioration": "pd"}, "PD"),  # A26 alternative
    (85, False, {"lyric_window_days": 91}, "IR1"),            # A21 alternative anchor / window
])
def test_lyric_12_week_window(day, deterioration, options, expected) -> None:
    out = run(*spd50_case(day, deterioration), options=ResponseOptions(**options))
    # Lugano: T1 2.0x1.5 -> 2.4x2.0: PPD 3 -> 4.8 (1.6x), LDi 2.4 > 1.5, SDi +0.5 -> L-PD-LES (TL).
    assert verdict(out, "FU2", "lugano") == ("PD", ["TL"])
    assert verdict(out, "FU2", "lyric") == (expected, ["TL"])
    row = out[(out.scan_id == "FU2") & (out.criterion == "lyric")].iloc[0]
    assert ("clinical_deterioration_missing" in row["flags"]) == (deterioration is None and expected == "IR1")


def test_spd_plus_50_strict_alternative_is_not_reached() -> None:
    out = run(*spd50_case(84), options=ResponseOptions(inclusive=False))
    # Strict: no L-PD-LES (every diameter grew exactly 0.4 or 0.5 cm), SPD 12.0 vs 23.0 = -47.8 % -> SD.
    assert verdict(out, "FU2", "lugano") == ("SD", [])
    assert verdict(out, "FU2", "lyric") == ("SD", [])


# ---------------------------------------------------------------- RECIL (SLD of 3 targets)
def test_recil_minus_10_percent_exactly_is_mr() -> None:
    # SLD 3.6 + 2.7 + 2.25 = 8.55 = 9.5 x 0.9 -> -10 % exactly (float64 gives -0.0999...; spec A2 example).
    scans, les = [BL, scan("FU1", 30, "ct")], baseline() + three("FU1", [(3.6, 2.7), (2.7, 1.8), (2.25, 1.8)])
    assert verdict(run(scans, les), "FU1", "recil") == ("MR", [])
    assert verdict(run(scans, les, options=ResponseOptions(inclusive=False)), "FU1", "recil") == ("SD", [])


def test_recil_just_over_20_percent_is_pd() -> None:
    # Nadir SLD 2.0 + 1.8 + 1.2 = 5.0 -> 2.45 + 2.2 + 1.4 = 6.05 > 6.0 (+21 %) -> R-PD-SLD.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    sites, nodal = ("retroperitoneal", "axillary", "liver"), (True, True, False)
    les = (bl_three(sites=sites, nodal=nodal) + three("FU1", [(2.0, 1.5), (1.8, 1.2), (1.2, 1.0)], sites=sites,
                                                      nodal=nodal)
           + three("FU2", [(2.45, 1.8), (2.2, 1.4), (1.4, 1.0)], sites=sites, nodal=nodal))
    assert verdict(run(scans, les), "FU2", "recil") == ("PD", ["TL"])


def test_recil_small_node_rule_a18() -> None:
    # Nadir SLD 2.0 + 1.8 + 1.2 = 5.0. FU2 2.6 + 1.8 + 1.65 = 6.05 (> 6.0) but T3 (node, 1.2 cm at nadir)
    # grew only 0.45 cm: it counts at its nadir 1.2 -> 5.6 (+12 %) -> no PD; SLD 6.05 vs 9.5 = -36 % -> PR.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (baseline() + three("FU1", [(2.0, 1.5), (1.8, 1.2), (1.2, 1.0)])
           + three("FU2", [(2.6, 1.5), (1.8, 1.2), (1.65, 1.0)]))
    out = run(scans, les)
    assert verdict(out, "FU2", "recil") == ("PR", [])
    assert "R-PD-SMALLN" in out[(out.scan_id == "FU2") & (out.criterion == "recil")].iloc[0].rules
    alt = run(scans, les, options=ResponseOptions(recil_small_node_rule=False))
    assert verdict(alt, "FU2", "recil") == ("PD", ["TL"])


def test_recil_selects_three_largest_preferring_other_sites() -> None:
    # Four targets: two axillary (5.0, 4.5), one iliac 3.0, one cervical 2.0 -> RECIL takes axillary 5.0,
    # iliac 3.0, cervical 2.0 (different sites first): SLD 10.0; the second axillary node is left out.
    rows = [lesion("BL", "A", 5.0, 3.0, site="axillary", role="target", ds="5"),
            lesion("BL", "B", 4.5, 3.0, site="axillary", role="target", ds="5"),
            lesion("BL", "C", 3.0, 2.0, site="iliac", role="target", ds="5"),
            lesion("BL", "D", 2.0, 1.8, site="cervical", role="target", ds="5")]
    fu = [lesion("FU1", x, 1.0 * s, 0.5 * s, site=site) for x, s, site in
          (("A", 4.0, "axillary"), ("B", 4.5, "axillary"), ("C", 3.0, "iliac"), ("D", 2.0, "cervical"))]
    out = run([BL, scan("FU1", 30, "ct")], rows + fu)
    row = out[(out.criterion == "recil")].iloc[0]
    assert row.sld == pytest.approx(4.0 + 3.0 + 2.0)        # A 4.0 + C 3.0 + D 2.0
    assert row.sld_change_baseline_pct == pytest.approx(-10.0)  # 9.0 vs 10.0 -> MR
    assert row.category == "MR"


# ---------------------------------------------------------------- spleen (L-PD-SPL, A5, A15, A25)
def spleen_case(lengths):
    scans = [scan(sid, day, "ct" if sid != "BL" else "petct", spleen=length)
             for (sid, day), length in zip((("BL", -5), ("FU1", 30), ("FU2", 90)), lengths)]
    les = baseline() + three("FU1", [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)]) + three("FU2", [(2.5, 2.0), (2.0, 1.5),
                                                                                          (1.5, 1.0)])
    return scans, les


def test_spleen_growth_over_half_the_excess_is_pd() -> None:
    # Nadir 15 cm: excess 2 cm; 16.1 - 15 = 1.1 > 1.0 -> L-PD-SPL. (C31: 16.0 is not.)
    out = run(*spleen_case((15.0, 15.0, 16.1)))
    assert verdict(out, "FU2", "lugano") == ("PD", ["SPLEEN"])
    assert verdict(out, "FU2", "cheson2007") == ("SD", [])      # never PD in 2007, blocks PR (A15)
    assert verdict(out, "FU2", "recil") == ("PR", [])           # not assessed (A19)
    assert verdict(out, "FU2", "lyric") == ("PD", ["SPLEEN"])   # A25
    alt = run(*spleen_case((15.0, 15.0, 16.1)), options=ResponseOptions(cheson_spleen_blocks_pr=False,
                                                                        lyric_spleen="ir2b"))
    assert verdict(alt, "FU2", "cheson2007") == ("PR", [])
    assert verdict(alt, "FU2", "lyric") == ("IR2b", ["SPLEEN"])


@pytest.mark.parametrize(("lengths", "options", "expected"), [
    ((12.0, 12.0, 14.0), {}, "PD"),                                    # > 13 cm and +2.0 cm (inclusive)
    ((12.0, 12.0, 13.9), {}, "PR"),                                    # +1.9 cm only
    ((12.0, 12.0, 13.9), {"new_splenomegaly": "length_only"}, "PD"),   # A5 alternative
    ((16.0, 14.0, 15.1), {}, "PD"),                                    # nadir 14: excess 1, +1.1 > 0.5
    # A5 alternative: vs 16 cm no PD; the BL excess (3 cm) regressed by only 0.9 cm (< 1.5) -> not PR -> SD.
    ((16.0, 14.0, 15.1), {"spleen_reference": "baseline"}, "SD"),
])
def test_spleen_reference_and_new_splenomegaly_a5(lengths, options, expected) -> None:
    out = run(*spleen_case(lengths), options=ResponseOptions(**options))
    assert verdict(out, "FU2", "lugano")[0] == expected


# ---------------------------------------------------------------- missing data (A29)
def test_partial_sum_proves_lyric_ir1_a29() -> None:
    # C45b: T2 not evaluable; T1 6.5x5 + T3 2.6x2 = 37.7 >= 1.5 x 23 = 34.5 even with T2 = 0 -> IR1.
    scans = [BL, scan("FU1", 30, "ct")]
    les = baseline() + [lesion("FU1", "T1", 6.5, 5.0), lesion("FU1", "T2", site="axillary", state="not_evaluable"),
                        lesion("FU1", "T3", 2.6, 2.0, site="iliac")]
    assert verdict(run(scans, les), "FU1", "lyric") == ("IR1", ["TL"])
    alt = run(scans, les, options=ResponseOptions(partial_sum_pd=False))
    assert verdict(alt, "FU1", "lyric") == ("IR2b", ["TL"])     # L-PD-LES on T1 only


def test_missing_baseline_gives_ne_with_flag() -> None:
    out = run([scan("FU1", 30)], [lesion("FU1", "T1", 2.0, 1.0, role="target")])
    assert set(out.category) == {"NE"}
    assert all("NE:no_baseline" in f for f in out["flags"])


# ---------------------------------------------------------------- input errors name table, row and column
@pytest.mark.parametrize(("change", "message"), [
    ({"state": "gone"}, r"lesions:2:state: 'gone' is not one of"),
    ({"ldi_cm": 2.0, "sdi_cm": 2.5}, r"lesions:2:sdi_cm: must not exceed ldi_cm"),
    ({"ldi_cm": 2.12345}, r"lesions:2:ldi_cm: 2.12345 has more precision than 0.01 mm"),
    ({"deauville": "6"}, r"lesions:2:deauville: '6' is not one of 1-5 or X"),
    ({"scan_id": "FU9"}, r"lesions:2:scan_id: no scan 'FU9'"),
    ({"patient_id": None}, r"lesions:2:patient_id: required value is missing"),
])
def test_bad_lesion_rows_are_located(change, message) -> None:
    from cartlens.criteria import ResponseInputError
    rows = baseline()
    rows[0] = {**rows[0], **change}
    scans = pd.DataFrame([BL]).assign(patient_id="P1", centre="C")
    lesions = pd.DataFrame(rows).assign(patient_id="P1", centre="C")
    if "patient_id" in change:
        lesions.loc[0, "patient_id"] = None
    with pytest.raises(ResponseInputError, match=message):
        assess(scans, lesions)


# ---------------------------------------------------------------- criterion-specific discordance (§7 table)
PR_FU1 = [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)]      # SPD 9.5 (-58.7 %), SLD 6.0 (-36.8 %)


def test_nontarget_unequivocal_progression() -> None:
    scans = [scan("BL", -5, nontarget="present", deterioration=None),
             scan("FU1", 30, nontarget="unequivocal_progression")]
    out = run(scans, baseline() + three("FU1", PR_FU1, ds="4", uptake="decreased"))
    assert verdict(out, "FU1", "lugano") == ("PD", ["NTL"])        # L-PD-NTL
    assert verdict(out, "FU1", "cheson2007") == ("PD", ["NTL"])    # C-PD-NTL
    assert verdict(out, "FU1", "recil") == ("PR", [])              # not PD in RECIL
    assert verdict(out, "FU1", "lyric") == ("IR2b", ["NTL"])


@pytest.mark.parametrize("modality", ["petct", "ct"])
def test_new_small_fdg_avid_node(modality) -> None:
    # New 1.2 x 1.0 cm node, DS 5: on PET/CT a new FDG-avid focus (Lugano PMD NL, RECIL "attributed");
    # Cheson needs > 1.5 cm. On CT alone a 1.2 cm node is not a new lesion under any criterion.
    scans = [BL, scan("FU1", 30, modality)]
    fu = three("FU1", PR_FU1, ds="4" if modality == "petct" else None,
               uptake="decreased" if modality == "petct" else None)
    new = lesion("FU1", "N1", 1.2, 1.0, site="cervical", ds="5" if modality == "petct" else None)
    out = run(scans, baseline() + fu + [new])
    if modality == "petct":
        assert [verdict(out, "FU1", c) for c in ("lugano", "cheson2007", "recil", "lyric")] == \
            [("PD", ["NL"]), ("PR", []), ("PD", ["NL"]), ("IR2a", ["NL"])]
    else:
        assert [verdict(out, "FU1", c) for c in ("lugano", "cheson2007", "recil", "lyric")] == [("PR", [])] * 4


def test_ir3_confirmed_by_a_new_lesion() -> None:
    # C41's FU1 (uptake flare only: IR3), then FU2 adds a new 2.0 x 1.6 cm DS 5 node -> confirmed PD,
    # dated to the IR3 scan (A24).
    from .helpers import FIXTURES, load_case
    case = load_case(FIXTURES / "C41.json")
    fu1 = [r for r in case["lesions"] if r["scan_id"] == "FU1"]
    lesions = [r for r in case["lesions"] if r["scan_id"] != "FU2"] + [{**r, "scan_id": "FU2"} for r in fu1]
    lesions.append(lesion("FU2", "N1", 2.0, 1.6, site="cervical", ds="5"))
    out = run(case["scans"], lesions)
    assert verdict(out, "FU1", "lyric") == ("IR3", ["PMD"])
    assert verdict(out, "FU2", "lugano") == ("PD", ["NL", "PMD"])
    row = out[(out.scan_id == "FU2") & (out.criterion == "lyric")].iloc[0]
    assert (row.category, list(row.reasons), row.pd_dated_scan_id) == ("PD", ["NL"], "FU1")
    assert "Y-CONF" in row.rules


def test_ir1_resolving_keeps_lugano_category_and_flags() -> None:
    from .helpers import FIXTURES, load_case
    case = load_case(FIXTURES / "C37.json")
    out = run(case["scans"], case["lesions"])
    row = out[(out.scan_id == "FU2") & (out.criterion == "lyric")].iloc[0]
    assert row.category == "PR" and "ir_resolved" in row["flags"]
    lug = out[(out.scan_id == "FU2") & (out.criterion == "lugano")].iloc[0]
    assert "post_PD" in lug["flags"]                              # A28: after Lugano's PD at FU1


def test_ir_reasons_name_the_trigger_of_the_subtype() -> None:
    # SPD +50 % at day 84 plus a new 2.0 cm node: Lugano PD [NL, TL]. LYRIC: IR1 (SPD >= +50 % in the
    # window); IR2a needs SPD < +50 %, so it does not fire, and the IR1 trigger is TL (fixtures README).
    scans, les = spd50_case(84)
    les = les + [lesion("FU2", "N1", 2.0, 1.6, site="cervical")]
    out = run(scans, les)
    assert verdict(out, "FU2", "lugano") == ("PD", ["NL", "TL"])
    assert verdict(out, "FU2", "lyric") == ("IR1", ["TL"])
    # After week 12 the same findings are LYRIC PD, with every size trigger as reason.
    scans85, les85 = spd50_case(85)
    out85 = run(scans85, les85 + [lesion("FU2", "N1", 2.0, 1.6, site="cervical")])
    assert verdict(out85, "FU2", "lyric") == ("PD", ["NL", "TL"])
