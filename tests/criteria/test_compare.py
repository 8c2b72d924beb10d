"""compare: rates, agreement, kappa (hand calculation and sklearn), PD reasons, focality, BOR (A28)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from cartlens.criteria import assess
from cartlens.criteria.compare import (
    agreement_matrix,
    at_timepoint,
    best_overall_response,
    cohens_kappa,
    concordance,
    discordant_reasons,
    focality,
    pd_reason_frequencies,
    response_rates,
)
from cartlens.criteria.engine import lesion_table

from .helpers import FIXTURES, frames, load_case
from .test_rules import spd50_case

A = ["CR", "CR", "PR", "PR", "SD", "PD", "PD", "PR", "CR", "SD"]
B = ["CR", "PR", "PR", "PR", "SD", "PD", "SD", "PR", "CR", "PD"]


def results_frame(cats_by_criterion: dict[str, list[str]], day: int = 90,
                  reasons: dict[str, list[tuple]] | None = None) -> pd.DataFrame:
    rows = []
    for criterion, cats in cats_by_criterion.items():
        for i, cat in enumerate(cats):
            rs = (reasons or {}).get(criterion, [()] * len(cats))[i]
            rows.append({"patient_id": f"P{i}", "centre": "C", "scan_id": "FU2", "day": day,
                         "criterion": criterion, "category": cat, "reasons": rs, "pd_dated_scan_id": None})
    return pd.DataFrame(rows)


def test_kappa_hand_calculation_and_sklearn() -> None:
    res = results_frame({"lugano": A, "recil": B})
    # Agreement on 7 of 10: p_o = 0.7. Margins A: CR 3, PR 3, SD 2, PD 2; B: CR 2, PR 4, SD 2, PD 2.
    # p_e = (3*2 + 3*4 + 2*2 + 2*2) / 100 = 0.26; kappa = (0.7 - 0.26) / (1 - 0.26) = 0.44 / 0.74.
    kappa = cohens_kappa(res, "lugano", "recil", "FU2")
    assert kappa == pytest.approx(0.44 / 0.74, abs=1e-12)
    assert kappa == pytest.approx(cohen_kappa_score(A, B), abs=1e-12)


def test_kappa_matches_sklearn_on_random_labels() -> None:
    rng = np.random.default_rng(3)
    labels = np.array(["CR", "PR", "MR", "SD", "PD"])
    a, b = list(rng.choice(labels, 60)), list(rng.choice(labels[[0, 1, 3, 4]], 60))
    res = results_frame({"lugano": a, "recil": b})
    assert cohens_kappa(res, "lugano", "recil") == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_rates_mr_is_not_a_response() -> None:
    res = results_frame({"recil": ["CR", "PR", "MR", "MR", "SD", "PD", "PD", "NE"]})
    rates = response_rates(res, "FU2", criteria=["recil"]).loc["recil"]
    # n = 8; ORR = CR + PR = 2 -> 25 %; CR 1/8; PD 2/8.
    assert (rates["n"], rates["n_orr"], rates["n_cr"], rates["n_pd"]) == (8, 2, 1, 2)
    assert rates["orr"] == pytest.approx(0.25) and rates["pd"] == pytest.approx(0.25)


def test_agreement_matrix_counts() -> None:
    m = agreement_matrix(results_frame({"lugano": A, "recil": B}), "lugano", "recil", "FU2")
    assert list(m.index) == ["CR", "PR", "SD", "PD"]
    assert m.loc["CR", "CR"] == 2 and m.loc["CR", "PR"] == 1 and m.loc["PD", "SD"] == 1 and m.loc["SD", "PD"] == 1
    assert m.to_numpy().sum() == 10


def test_concordance_and_discordant_reasons() -> None:
    res = results_frame({"lugano": ["PD", "PD", "PR"], "recil": ["PD", "SD", "PR"]},
                        reasons={"lugano": [("TL",), ("NTL", "TL"), ()], "recil": [("TL",), (), ()]})
    c = concordance(res, "lugano", "recil", "FU2")
    assert c["pd_concordance"] == pytest.approx(2 / 3) and c["orr_concordance"] == pytest.approx(1.0)
    d = discordant_reasons(res, "lugano", "recil", "FU2")
    assert list(d["patient_id"]) == ["P1"] and d.iloc[0]["reasons_only"] == ("NTL", "TL")


def test_pd_reasons_as_percent_of_pd_patients() -> None:
    res = results_frame({"lugano": ["PD", "PD", "PD", "PD", "PR"]},
                        reasons={"lugano": [("TL",), ("NL", "TL"), ("PMD",), ("NL", "TL"), ()]})
    freq = pd_reason_frequencies(res, "FU2", criteria=["lugano"]).loc["lugano"]
    assert freq["n_pd"] == 4
    assert freq["TL_pct"] == pytest.approx(75.0) and freq["NL_pct"] == pytest.approx(50.0)
    assert freq["PMD_pct"] == pytest.approx(25.0) and freq["BM_n"] == 0


def test_timepoint_window_picks_nearest_scan() -> None:
    res = pd.concat([results_frame({"lugano": ["SD"]}, day=80).assign(scan_id="A"),
                     results_frame({"lugano": ["PD"]}, day=95).assign(scan_id="B"),
                     results_frame({"lugano": ["CR"]}, day=130).assign(scan_id="C")])
    picked = at_timepoint(res, "FU2")           # window 75-120, nominal 90: |95-90| < |80-90|
    assert list(picked["scan_id"]) == ["B"]


def _patients(*cases):
    scans, lesions = [], []
    for pid, (s, les) in cases:
        scans.append(pd.DataFrame(s).assign(patient_id=pid, centre="C"))
        lesions.append(pd.DataFrame(les).assign(patient_id=pid, centre="C"))
    return pd.concat(scans, ignore_index=True), pd.concat(lesions, ignore_index=True)


def test_focality_unifocal_and_multifocal() -> None:
    c13 = load_case(FIXTURES / "C13.json")
    scans, lesions = _patients(("uni", (c13["scans"], c13["lesions"])), ("multi", spd50_case(90)))
    res = assess(scans, lesions)
    foc = focality(res, lesion_table(scans, lesions)).set_index("patient_id")
    # C13 FU2: only T1 meets L-PD-LES. spd50_case FU2: T1 (SDi +0.5) and T3 (2x1 -> 2.4x1.5, SDi +0.5).
    assert foc.loc["uni", "focality"] == "unifocal" and foc.loc["uni", "n_progressive_targets"] == 1
    assert foc.loc["multi", "focality"] == "multifocal" and foc.loc["multi", "n_progressive_targets"] == 2


def test_best_overall_response_stop_rules_a28() -> None:
    c37, c39 = load_case(FIXTURES / "C37.json"), load_case(FIXTURES / "C39.json")
    scans, lesions = _patients(("p37", (c37["scans"], c37["lesions"])), ("p39", (c39["scans"], c39["lesions"])))
    res = assess(scans, lesions)
    bor = best_overall_response(res).set_index(["patient_id", "criterion"])
    # C37: Lugano PD at FU1 stops there; LYRIC IR1 then PR (IR resolved) -> PR; no PFS event.
    assert bor.loc[("p37", "lugano"), "best_response"] == "PD" and bor.loc[("p37", "lugano"), "pd_day"] == 30
    assert bor.loc[("p37", "lyric"), "best_response"] == "PR" and pd.isna(bor.loc[("p37", "lyric"), "pd_day"])
    # C39: LYRIC IR1 confirmed at FU2 -> PD dated to the first IR (day 30, A24).
    assert bor.loc[("p39", "lyric"), "best_response"] == "PD" and bor.loc[("p39", "lyric"), "pd_day"] == 30
    from cartlens.criteria import ResponseOptions
    alt = best_overall_response(res, options=ResponseOptions(bor_lyric_stop="first_ir")).set_index(
        ["patient_id", "criterion"])
    assert alt.loc[("p37", "lyric"), "best_response"] == "IR1" and alt.loc[("p37", "lyric"), "pd_day"] == 30


def test_fixture_cohort_rates_by_hand() -> None:
    # All single-follow-up fixtures at FU1 (day 30) as one cohort; counted from their expected files.
    paths = sorted(FIXTURES.glob("C*.json"))
    parts, expected = [], {c: [] for c in ("lugano", "cheson2007", "recil", "lyric")}
    for i, path in enumerate(paths):
        case = load_case(path)
        if "FU1" not in case["expected"]:
            continue
        s, les = frames(case, patient=f"P{i}")
        parts.append((s, les))
        for crit in expected:
            expected[crit].append(case["expected"]["FU1"][crit]["category"])
    scans = pd.concat([p[0] for p in parts], ignore_index=True)
    lesions = pd.concat([p[1] for p in parts], ignore_index=True)
    rates = response_rates(assess(scans, lesions), "FU1")
    for crit, cats in expected.items():
        assert rates.loc[crit, "n_orr"] == sum(c in ("CR", "PR") for c in cats)
        assert rates.loc[crit, "n_pd"] == cats.count("PD")
