"""Each ambiguity switch (response_criteria.md §9): the default and the alternative on a scenario where
they differ, with the hand reasoning in comments. Switches covered elsewhere: A2, A3, A5, A15, A17, A18,
A21, A25, A26, A29 (test_rules.py), A28 (test_compare.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from cartlens.criteria import ResponseOptions, assess

from .helpers import FIXTURES, baseline, frames, lesion, load_case, run, scan, verdict
from .test_rules import BL, three


def fixture(case_id: str, **options):
    scans, lesions = frames(load_case(FIXTURES / f"{case_id}.json"))
    return assess(scans, lesions, options=ResponseOptions(**options))


def test_a1_cheson_as_lugano_ct_arm() -> None:
    # C15 FU2: 2007 single-node rule -> PD; the Lugano CT arm sees SPD 11.14 vs 23 (-51.6 %) -> PR.
    assert verdict(fixture("C15"), "FU2", "cheson2007") == ("PD", ["TL"])
    assert verdict(fixture("C15", cheson_variant="lugano_ct"), "FU2", "cheson2007") == ("PR", [])


def nontarget_case():
    # NT1 (measured non-target node) 2.0x1.5 -> 3.0x2.0: PPD 3 -> 6, LDi 3.0 > 1.5, +1.0 cm -> L-PD-LES.
    scans = [scan("BL", -5, nontarget="present", deterioration=None), scan("FU1", 30, "ct", nontarget="present")]
    les = (baseline() + [lesion("BL", "NT1", 2.0, 1.5, site="inguinal", role="nontarget", ds="5")]
           + three("FU1", [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)]) + [lesion("FU1", "NT1", 3.0, 2.0, site="inguinal")])
    return scans, les


def test_a4_l_pd_les_on_measured_nontargets() -> None:
    out = run(*nontarget_case())
    assert verdict(out, "FU1", "lugano") == ("PD", ["NTL"])
    assert verdict(out, "FU1", "cheson2007") == ("PD", ["NTL"])    # C-PD-NTL: PPD +100 %
    assert verdict(out, "FU1", "recil") == ("PR", [])              # NTL is not PD in RECIL (A19)
    assert verdict(out, "FU1", "lyric") == ("IR2b", ["NTL"])
    alt = run(*nontarget_case(), options=ResponseOptions(lugano_pd_les_on_nontargets=False))
    assert verdict(alt, "FU1", "lugano") == ("PR", [])             # SPD 9.5 vs 23 = -58.7 %


def uptake_case():
    scans = [BL, scan("FU1", 30)]
    les = baseline() + [lesion("FU1", "T1", 2.5, 2.0, ds="4", suvmax=10.0),
                        lesion("FU1", "T2", 2.0, 1.5, site="axillary", ds="4", suvmax=7.0),
                        lesion("FU1", "T3", 1.5, 1.0, site="iliac", ds="4", suvmax=6.0)]
    return scans, les


def test_a6_uptake_from_reader_or_suvmax() -> None:
    out = run(*uptake_case())
    # No reader input: DS 4 sites without a recorded decrease -> NMR -> SD (PET wins over CT PR).
    assert verdict(out, "FU1", "lugano") == ("SD", [])
    assert "uptake_missing" in out[out.criterion == "lugano"].iloc[0]["flags"]
    # SUVmax 18 -> 10, 18 -> 7, 18 -> 6: each >= 30 % and >= 0.8 lower -> decreased -> PMR -> PR.
    alt = run(*uptake_case(), options=ResponseOptions(uptake_source="suvmax_fallback"))
    assert verdict(alt, "FU1", "lugano") == ("PR", [])


def test_a7_deauville_from_suv() -> None:
    scans = [BL, {**scan("FU1", 30), "liver_suvmean": 2.0, "mbp_suvmax": 1.6}]
    les = baseline() + [lesion("FU1", "T1", 2.5, 2.0, suvmax=1.8),
                        lesion("FU1", "T2", 2.0, 1.5, site="axillary", suvmax=1.5),
                        lesion("FU1", "T3", 1.5, 1.0, site="iliac", suvmax=1.9)]
    # No DS: PET not evaluable -> CT: SPD 9.5 vs 23 -> PR.
    assert verdict(run(scans, les), "FU1", "lugano") == ("PR", [])
    # Derived: 1.8 and 1.9 <= liver 2.0 -> DS 3; 1.5 <= mediastinum 1.6 -> DS 2 -> CMR -> CR.
    alt = run(scans, les, options=ResponseOptions(deauville_from_suv=True))
    assert verdict(alt, "FU1", "lugano") == ("CR", [])


def test_a8_combination_best_and_pet_always_wins() -> None:
    # C35: NMR with CT PR -> SD by default, PR with "best".
    assert verdict(fixture("C35"), "FU1", "lugano") == ("SD", [])
    assert verdict(fixture("C35", lugano_combination="best"), "FU1", "lugano") == ("PR", [])
    # CT PD (T1 4x3 -> 5.5x4: PPD 22 >= 18, +1.5 cm) with every site DS 3 (CMR).
    scans = [BL, scan("FU1", 30)]
    les = baseline() + three("FU1", [(5.5, 4.0), (2.0, 1.5), (1.5, 1.0)], ds="3", uptake="decreased")
    assert verdict(run(scans, les), "FU1", "lugano") == ("PD", ["TL"])
    alt = run(scans, les, options=ResponseOptions(lugano_combination="pet_always_wins"))
    assert verdict(alt, "FU1", "lugano") == ("CR", [])


def test_a9_metabolic_relapse_after_cmr() -> None:
    # FU1 CMR (DS 2); FU2 T1 back to DS 4 with uptake still "decreased" vs BL, sizes unchanged.
    scans = [BL, scan("FU1", 30), scan("FU2", 90)]
    fu1 = three("FU1", [(2.0, 1.5), (1.5, 1.0), (1.2, 1.0)], ds="2", uptake="decreased")
    fu2 = three("FU2", [(2.0, 1.5), (1.5, 1.0), (1.2, 1.0)], ds="2", uptake="decreased")
    fu2[0]["deauville"] = "4"
    out = run(scans, baseline() + fu1 + fu2)
    assert verdict(out, "FU2", "lugano") == ("PD", ["PMD"])
    assert verdict(out, "FU2", "lyric") == ("IR3", ["PMD"])
    assert verdict(out, "FU2", "cheson2007") == ("PR", [])     # FDG alone is not PD in 2007
    alt = run(scans, baseline() + fu1 + fu2, options=ResponseOptions(pmd_after_cmr="literal"))
    assert verdict(alt, "FU2", "lugano") == ("PR", [])         # DS 4 with decreased uptake -> PMR


def test_a9_needs_a_prior_cmr() -> None:
    # FU1 is PMR (T1 DS 3, T2/T3 DS 4 decreased), FU2 T1 DS 4 decreased: no earlier CMR -> still PMR -> PR.
    scans = [BL, scan("FU1", 30), scan("FU2", 90)]
    fu1 = three("FU1", [(2.0, 1.5), (1.5, 1.0), (1.2, 1.0)], ds="4", uptake="decreased")
    fu1[0]["deauville"] = "3"
    fu2 = three("FU2", [(2.0, 1.5), (1.5, 1.0), (1.2, 1.0)], ds="4", uptake="decreased")
    assert verdict(run(scans, baseline() + fu1 + fu2), "FU2", "lugano") == ("PR", [])


def test_a10_biopsy_proven_small_new_lesion() -> None:
    case = load_case(FIXTURES / "C23.json")
    for row in case["lesions"]:
        if row["lesion_id"] == "NEW1":
            row["biopsy_proven"] = True
    scans, lesions = frames(case)
    out = assess(scans, lesions)
    assert verdict(out, "FU1", "cheson2007") == ("PR", [])       # 0.8 cm <= 1.5 cm: never PD in 2007
    assert verdict(out, "FU1", "lyric") == ("PD", ["NL"])        # biopsy-proven new lesion ends IR
    alt = assess(scans, lesions, options=ResponseOptions(cheson_small_new_if_biopsy=True))
    assert verdict(alt, "FU1", "cheson2007") == ("PD", ["NL"])


def equivocal_case():
    scans = [BL, scan("FU1", 30), scan("FU2", 90)]
    fu = {sid: three(sid, [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)], ds="4", uptake="decreased")
          for sid in ("FU1", "FU2")}
    new1 = lesion("FU1", "N1", 2.0, 1.6, site="cervical", ds="4", attribution="equivocal")
    new2 = lesion("FU2", "N1", 2.2, 1.6, site="cervical", ds="5", attribution="lymphoma")
    return scans, baseline() + fu["FU1"] + fu["FU2"] + [new1, new2]


def test_a11_equivocal_new_lesion_dating() -> None:
    out = run(*equivocal_case())
    assert verdict(out, "FU1", "lugano") == ("PR", [])
    assert "equivocal_watch" in out[(out.scan_id == "FU1") & (out.criterion == "lugano")].iloc[0]["flags"]
    assert verdict(out, "FU2", "lugano") == ("PD", ["NL"])
    alt = run(*equivocal_case(), options=ResponseOptions(equivocal_dating="first_appearance"))
    assert verdict(alt, "FU1", "lugano") == ("PD", ["NL"])


def test_a12_extranodal_threshold() -> None:
    # Liver target nadir 0.9x0.8 (PPD 0.72) -> 1.4x1.2 (1.68 >= 1.08), LDi +0.5 cm; LDi 1.4 is not > 1.5.
    sites, nodal = ("retroperitoneal", "axillary", "liver"), (True, True, False)
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (bl_three_liver() + three("FU1", [(2.5, 2.0), (2.0, 1.5), (0.9, 0.8)], sites=sites, nodal=nodal)
           + three("FU2", [(2.5, 2.0), (2.0, 1.5), (1.4, 1.2)], sites=sites, nodal=nodal))
    assert verdict(run(scans, les), "FU2", "lugano")[0] == "PR"
    alt = run(scans, les, options=ResponseOptions(lugano_extranodal_pd_ldi_cm=Decimal("1.0")))
    assert verdict(alt, "FU2", "lugano") == ("PD", ["TL"])


def bl_three_liver():
    from .test_rules import bl_three
    return bl_three(sites=("retroperitoneal", "axillary", "liver"), nodal=(True, True, False))


def test_a14_cheson_pet_positivity_ihp() -> None:
    # All sites DS 3 (C02-like): DS >= 4 rule -> no positive site -> CR; IHP: T1 2.5 cm (>= 2 cm) with
    # DS 3 is positive -> PR (SPD 9.5 vs 23 = -58.7 %).
    scans = [BL, scan("FU1", 30)]
    les = baseline() + three("FU1", [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)], ds="3", uptake="decreased")
    assert verdict(run(scans, les), "FU1", "cheson2007") == ("CR", [])
    assert verdict(run(scans, les, options=ResponseOptions(cheson_pet_positive="ihp")), "FU1",
                   "cheson2007") == ("PR", [])


def test_a16_cheson_without_pet() -> None:
    assert verdict(fixture("C19"), "FU1", "cheson2007") == ("CR", [])
    assert verdict(fixture("C19", cheson_no_pet="ne"), "FU1", "cheson2007") == ("NE", [])


def test_a17_single_node_clause() -> None:
    assert verdict(fixture("C13"), "FU2", "cheson2007") == ("PD", ["TL"])
    # Table only: SPD 11.16 vs nadir 11.0 (+1.5 %) -> no PD; vs BL 23.5: -52.5 % -> PR.
    assert verdict(fixture("C13", cheson_single_node=False), "FU2", "cheson2007") == ("PR", [])


def test_a18_recil_absolute_rise() -> None:
    # Extranodal targets; SLD nadir 1.0 -> 1.3 (+30 % > 20 %, but only +0.3 cm).
    sites, nodal = ("liver", "lung", "liver"), (False, False, False)
    from .test_rules import bl_three
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (bl_three(sites=sites, nodal=nodal) + three("FU1", [(1.0, 0.8), None, None], sites=sites, nodal=nodal)
           + three("FU2", [(1.3, 1.0), None, None], sites=sites, nodal=nodal))
    assert verdict(run(scans, les), "FU2", "recil") == ("PD", ["TL"])
    alt = run(scans, les, options=ResponseOptions(recil_pd_min_abs_cm=Decimal("0.5")))
    assert verdict(alt, "FU2", "recil") == ("PR", [])          # 1.3 vs 9.5 = -86 %; T1 not gone -> PR


def test_a19_recil_marrow() -> None:
    assert verdict(fixture("C27"), "FU2", "recil") == ("PD", ["BM"])
    assert verdict(fixture("C27", recil_marrow_is_new_lesion=False), "FU2", "recil") == ("PR", [])


def test_a20_recil_too_small_value() -> None:
    # FU1: T1 2.0, T2 and T3 too small. FU2: T1 2.45. Default (0.5 cm): 3.0 -> 3.45 (+15 %), no PD.
    # Alternative (0 cm): 2.0 -> 2.45 (+22.5 % > 20 %) -> PD.
    scans = [BL, scan("FU1", 30, "ct"), scan("FU2", 90, "ct")]
    les = (baseline() + three("FU1", [(2.0, 1.5), "small", "small"])
           + three("FU2", [(2.45, 1.5), "small", "small"]))
    assert verdict(run(scans, les), "FU2", "recil")[0] != "PD"
    alt = run(scans, les, options=ResponseOptions(recil_too_small_cm=Decimal(0)))
    assert verdict(alt, "FU2", "recil") == ("PD", ["TL"])


def new_lesion_growth_case():
    # IR2a at FU1 (new 2.0x1.6 node); FU2 the new node grows to 3.0x2.5 while targets are stable.
    scans = [BL, scan("FU1", 30), scan("FU2", 60)]
    fu = [row for sid in ("FU1", "FU2")
          for row in three(sid, [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)], ds="4", uptake="decreased")]
    new = [lesion("FU1", "N1", 2.0, 1.6, site="cervical", ds="5"), lesion("FU2", "N1", 3.0, 2.5, site="cervical",
                                                                          ds="5")]
    return scans, baseline() + fu + new


def test_a22_new_lesions_join_the_lyric_spd() -> None:
    out = run(*new_lesion_growth_case())
    assert verdict(out, "FU1", "lyric") == ("IR2a", ["NL"])
    # SPD incl. new: 9.5 + 3.2 = 12.7 -> 9.5 + 7.5 = 17.0 (+33.9 % >= 10 %) -> confirmed PD.
    assert verdict(out, "FU2", "lyric") == ("PD", ["NL"])
    row = out[(out.scan_id == "FU2") & (out.criterion == "lyric")].iloc[0]
    assert "Y-CONF" in row.rules and row.pd_dated_scan_id == "FU1"           # A24: first IR
    alt = run(*new_lesion_growth_case(), options=ResponseOptions(lyric_new_lesions_in_spd=False))
    assert verdict(alt, "FU2", "lyric") == ("IR2a", ["NL"])                   # targets-only SPD stable


def test_a24_pd_dating() -> None:
    alt = run(*new_lesion_growth_case(), options=ResponseOptions(lyric_pd_dating="confirming"))
    row = alt[(alt.scan_id == "FU2") & (alt.criterion == "lyric")].iloc[0]
    assert row.category == "PD" and row.pd_dated_scan_id == "FU2"


def test_a23_ir2b_raw_ppd() -> None:
    # C15 FU2 plus a new FDG-avid node: T1 PPD +63 % without +0.5 cm. Default IR2a (NL only);
    # alternative: T1 also counts (raw PPD >= +50 %) -> reasons NL and TL.
    case = load_case(FIXTURES / "C15.json")
    case["lesions"].append(lesion("FU2", "N1", 2.0, 1.6, site="cervical", ds="5"))
    scans, lesions = frames(case)
    assert verdict(assess(scans, lesions), "FU2", "lyric") == ("IR2a", ["NL"])
    alt = assess(scans, lesions, options=ResponseOptions(lyric_ir2b="raw_ppd"))
    assert verdict(alt, "FU2", "lyric") == ("IR2a", ["NL", "TL"])


def test_a27_baseline_anchor() -> None:
    # Pre-bridging scan day -20 (SPD 46 = 2 x 23), post-bridging day -2 (SPD 23); FU1 SPD 16.
    scans = [scan("PRE", -20, deterioration=None), scan("BL", -2, deterioration=None), scan("FU1", 30, "ct")]
    pre = [lesion("PRE", f"T{i}", *s, role="target", ds="5") for i, s in
           enumerate([(8.0, 3.0), (6.0, 2.0), (5.0, 2.0)], start=1)]
    fu = [lesion("FU1", "T1", 3.0, 2.0), lesion("FU1", "T2", 2.5, 2.0), lesion("FU1", "T3", 2.5, 2.0)]
    les = pre + baseline() + fu          # baseline() rows are on scan "BL"
    # Default BL = day -2: 6 + 5 + 5 = 16 vs 23 = -30 % -> SD. Alternative (day <= -3): vs 46 = -65 % -> PR.
    assert verdict(run(scans, les), "FU1", "lugano") == ("SD", [])
    assert verdict(run(scans, les, options=ResponseOptions(baseline_max_day=-3)), "FU1", "lugano") == ("PR", [])


def test_a33_ct_after_cmr() -> None:
    scans = [BL, scan("FU1", 30), scan("FU2", 90, "ct")]
    les = (baseline() + three("FU1", [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)], ds="2", uptake="decreased")
           + three("FU2", [(2.5, 2.0), (2.0, 1.5), (1.5, 1.0)]))
    out = run(scans, les)
    row = out[(out.scan_id == "FU2") & (out.criterion == "lugano")].iloc[0]
    assert row.category == "PR" and "prior_CMR_metabolic_status_unknown" in row["flags"]
    alt = run(scans, les, options=ResponseOptions(ct_after_cmr="carry_cmr"))
    assert verdict(alt, "FU2", "lugano") == ("CR", [])


# ---------------------------------------------------------------- construction and TOML
def test_from_mapping_accepts_register_numbers_and_names() -> None:
    opts = ResponseOptions.from_mapping({"A14": "ihp", "A2": "strict", "lyric_window_days": 91, "A17": True})
    assert (opts.cheson_pet_positive, opts.inclusive, opts.lyric_window_days, opts.cheson_single_node) == \
        ("ihp", False, 91, False)
    assert ResponseOptions.from_mapping({"A8": "pet_always_wins"}).lugano_combination == "pet_always_wins"
    # Register numbers with one alternative accept a descriptive word for it.
    assert ResponseOptions.from_mapping({"A17": "table_only"}).cheson_single_node is False
    assert ResponseOptions.from_mapping({"A11": "backdate"}).equivocal_dating == "first_appearance"
    assert ResponseOptions.from_mapping({"A12": "1.0"}).lugano_extranodal_pd_ldi_cm == Decimal("1.0")


@pytest.mark.parametrize(("mapping", "message"), [
    ({"A99": 1}, r"unknown response option 'A99'"),
    ({"A8": "worst"}, r"lugano_combination: 'worst' is not one of"),
    ({"cheson_pet_positive": "ds3"}, r"cheson_pet_positive: 'ds3' is not one of"),
    ({"inclusive": "yes"}, r"inclusive: expected true/false"),
    ({"lyric_window_days": 84.5}, r"lyric_window_days: expected an integer"),
    ({"A30": True}, r"A30 has no alternative"),
])
def test_from_mapping_rejects(mapping, message) -> None:
    with pytest.raises(ValueError, match=message):
        ResponseOptions.from_mapping(mapping)


def test_from_toml(tmp_path) -> None:
    path = tmp_path / "opts.toml"
    path.write_text('[response]\nA14 = "ihp"\nrecil_too_small_cm = "0"\n')
    opts = ResponseOptions.from_toml(path)
    assert opts.cheson_pet_positive == "ihp" and opts.recil_too_small_cm == Decimal(0)
