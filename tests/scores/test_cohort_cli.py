"""score_patients on a small hand-made data directory, and the CLI contract of cli.md (Scores)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cartlens.cli import app
from cartlens.scores import SCORES, score_patients

DATA = Path(__file__).parent / "data" / "cohort"
CONTRACT_KEYS = {"score", "computable", "value", "group", "points", "messages"}
runner = CliRunner()


def _tables() -> dict[str, pd.DataFrame]:
    from cartlens.io import read_data_dir

    batch = read_data_dir(DATA)
    batch.raise_for_errors()
    return batch.tables


def test_score_patients_by_hand():
    frame = score_patients(_tables()).set_index("patient_id")
    p1, p2, p3 = frame.loc["P1"], frame.loc["P2"], frame.loc["P3"]
    # P1: age 66 (1), LDH 500/250 (1), ECOG 1 (0), stage IV (1), marrow + liver = 2 sites (1) -> IPI 4
    assert (p1["ipi"], p1["ipi_group"], p1["nccn_ipi"]) == (4, "High", 5)
    # latest lab in day -14..-3: CRP 3.5 on day -3 (not 0.5 on day -5, not 20 on day +2); LDH 500 not day -20
    assert (p1["car_hematotox"], p1["car_hematotox_group"]) == (1, "HT-low")
    assert p1["m_easix"] == pytest.approx(500 * 3.5 / 200)
    assert p1["easix"] == pytest.approx(500 * 1.0 / 200)
    assert p1["impi"] == pytest.approx(0.307733 + 66 * 0.008092449 + 0.322247142, abs=1e-12)
    # P2 reports in SI units (g/L, /uL, mg/L, ug/L, umol/L): HT-3 thresholds -> 5 points
    assert (p2["car_hematotox"], p2["car_hematotox_group"]) == (5, "HT-high")
    assert p2["easix"] == pytest.approx(300 * 1.0 / 175)
    assert pd.isna(p2["impi"])                                   # no MTV
    # P3 has no LDH and no HT labs: not computable, never 0
    assert pd.isna(p3["ipi"]) and pd.isna(p3["car_hematotox"])


def test_score_patients_window_option():
    frame = score_patients(_tables(), window=(-14, -4)).set_index("patient_id")
    assert frame.loc["P1", "m_easix"] == pytest.approx(500 * 0.5 / 200)     # day -3 CRP now outside


def test_score_patients_alternative_hematotox_cutoff():
    frame = score_patients(_tables(), **{"car-hematotox": {"high_cutoff": 3}}).set_index("patient_id")
    assert frame.loc["P2", "car_hematotox_group"] == "HT-high" and frame.loc["P1", "car_hematotox_group"] == "HT-low"


def test_cli_score_json_contract():
    result = runner.invoke(app, ["score", "car-hematotox", "--anc", "1.0", "--hb", "9.5", "--plt", "180",
                                 "--crp", "25 mg/L", "--ferritin", "500", "--format", "json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert CONTRACT_KEYS <= set(body)
    assert (body["score"], body["computable"], body["value"], body["group"]) == ("car-hematotox", True, 1, "HT-low")
    assert body["points"] == {"plt": 0, "anc": 1, "hb": 0, "crp": 0, "ferritin": 0}       # HT-11


def test_cli_score_missing_input_is_not_computable_json():
    result = runner.invoke(app, ["score", "easix", "--ldh", "250", "--plt", "100", "--format", "json"])
    assert result.exit_code == 0
    body = json.loads(result.stdout)
    assert body["computable"] is False and body["value"] is None and "creatinine" in body["messages"][0]


@pytest.mark.parametrize(("args", "message"), [
    (["score", "car-hematotox", "--anc", "1", "--hb", "9", "--plt", "175", "--crp", "45 mg/dL", "--ferritin", "3"],
     "did you mean mg/L"),
    (["score", "m-easix", "--ldh", "250", "--crp", "2", "--plt", "175000"], "did you mean /uL"),
    (["score", "nope"], "unknown score"),
    (["score", "ipi", "--age", "60", "--bogus", "1"], "not an input of ipi"),
    (["score", "car-impi", "--mtv", "50", "--age", "60", "--stage", "3"], "coefficients not configured"),
    (["score", "ipi", "--age"], "needs a value"),
])
def test_cli_invalid_input_exit_2(args, message):
    result = runner.invoke(app, [*args, "--format", "json"] if args[-1] != "--age" else args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_cli_car_impi_with_coefficients_file(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[provenance]\nstatus = "reviewed"\nsource = "test"\n[coefficients]\nmtv = 0.01\n'
                    'mtv_above_knot = -0.008\nage = 0.01\n[coefficients.stage]\n1 = 0.0\n2 = 0.1\n3 = 0.2\n4 = 0.3\n')
    result = runner.invoke(app, ["score", "car-impi", "--mtv", "100", "--age", "70", "--stage", "4",
                                 "--coefficients", str(path), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["value"] == pytest.approx(1.5544) and body["group"] == "high"


def test_cli_scores_data_dir_json():
    result = runner.invoke(app, ["scores", str(DATA), "--format", "json"])
    assert result.exit_code == 0, result.stderr
    body = {row["patient_id"]: row for row in json.loads(result.stdout)}
    assert set(body) == {"P1", "P2", "P3"}
    assert body["P2"]["scores"]["car-hematotox"]["value"] == 5
    assert all(CONTRACT_KEYS <= set(s) for s in body["P1"]["scores"].values())
    assert body["P3"]["scores"] == {} and "car-hematotox" in body["P3"]["not_computable"]


def test_cli_scores_invalid_dir_exit_2(tmp_path):
    (tmp_path / "patients.csv").write_text("patient_id,centre,age,stage\nP1,C1,17,2\n")
    result = runner.invoke(app, ["scores", str(tmp_path), "--format", "json"])
    assert result.exit_code == 2 and "patients.csv:2:age" in result.stderr


def test_registry_metadata_for_forms():
    meta = SCORES["car-hematotox"].to_dict()
    assert [(i["name"], i["unit"]) for i in meta["inputs"]] == [
        ("anc", "10^9/L"), ("hb", "g/dL"), ("plt", "10^9/L"), ("crp", "mg/dL"), ("ferritin", "ng/mL")]
    assert SCORES["impi"].unverified is True and SCORES["ipi"].unverified is False
    assert all(spec.source for spec in SCORES.values())


def test_scores_by_cohort_table():
    from cartlens.scores import scores_by_cohort

    tables = _tables()
    cohorts = {"P1": "development", "P2": "development", "P3": "validation"}
    patients = tables["patients"].assign(cohort=tables["patients"]["patient_id"].map(cohorts))
    table = scores_by_cohort(score_patients(tables), patients).set_index(["cohort", "score"])
    ht = table.loc[("development", "car-hematotox")]
    # P1 HT 1 (low), P2 HT 5 (high): n 2, both computable, median 3
    assert (ht["n"], ht["computable"], ht["median"]) == (2, 2, 3.0)
    assert ht["groups"] == {"HT-low": 1, "HT-high": 1}
    assert table.loc[("validation", "ipi"), "computable"] == 0


def test_score_patients_with_models(tmp_path):
    from cartlens.scores import CarImpi

    model = CarImpi(coefficients={"mtv": 0.01, "mtv_above_knot": -0.008, "age": 0.01,
                                  "stage": {1: 0.0, 2: 0.1, 3: 0.2, 4: 0.3}},
                    provenance={"status": "fitted", "source": "unit test"})
    rdata = Path(__file__).parent / "reference" / "inflamix_synthetic_model.RData"
    frame = score_patients(_tables(), car_impi=model, inflamix_model=rdata).set_index("patient_id")
    # P1: 0.01*100 - 0.008*(100-44.3) + 0.01*66 + 0.3 = 1.5144 -> high
    assert frame.loc["P1", "car_impi"] == pytest.approx(1.5144, abs=1e-12)
    assert frame.loc["P1", "car_impi_group"] == "high"
    assert pd.isna(frame.loc["P2", "car_impi"])                       # no MTV
    # InflaMix window day -2..0: P1 has albumin 34/50 g/L, ALP 120/130, AST 30/37 on day -1 (its day -5 WBC is
    # outside the window) = case S-12 of the R reference; P2 and P3 have no labs in the window
    ref = {c["id"]: c for c in json.loads((rdata.parent / "inflamix_synthetic.json").read_text())["cases"]}
    assert frame.loc["P1", "inflamix"] == pytest.approx(ref["S-12"]["p_log_domain"], abs=1e-9)
    assert frame.loc["P1", "inflamix_group"] == "Non-inflammatory"
    assert frame[["inflamix"]].drop(index="P1")["inflamix"].isna().all()
    example = Path(__file__).parents[2] / "src" / "cartlens" / "scores" / "data" / "car_impi_example.toml"
    from cartlens.scores import CoefficientsNotConfigured

    with pytest.raises(CoefficientsNotConfigured, match="example"):
        score_patients(_tables(), car_impi=example)


@pytest.mark.parametrize("name", sorted(set(SCORES) - {"car-impi", "inflamix"}))
def test_every_score_without_inputs_is_not_computable_and_json_safe(name):
    from cartlens.scores import compute

    body = compute(name, {}).to_dict()
    assert CONTRACT_KEYS <= set(body)
    assert (body["computable"], body["value"], body["group"]) == (False, None, None)
    assert body["messages"][0].startswith("not computable: missing")
    json.dumps(body, allow_nan=False)


def test_default_window_excludes_post_lymphodepletion_labs():
    """Labs of day -2 ... 0 are after lymphodepletion (typically day -5 ... -3, data_model.md) and are not
    used by default: a CRP of 20 mg/dL on day -1 leaves P1's CAR-HEMATOTOX at 1 (CRP 3.5 on day -3 -> 1 point,
    as in test_score_patients_by_hand); the inclusive window (-14, 0) picks it up (still 1 CRP point, but the
    m-EASIX changes: 500 x 20 / 200 = 50)."""
    tables = dict(_tables())
    labs = tables["labs"]
    row = labs[(labs["patient_id"] == "P1") & (labs["analyte"] == "crp")].iloc[[0]].copy()
    row["day"], row["value"] = -1, 20.0
    tables["labs"] = pd.concat([labs, row], ignore_index=True)
    default = score_patients(tables).set_index("patient_id").loc["P1"]
    assert default["m_easix"] == pytest.approx(500 * 3.5 / 200)
    inclusive = score_patients(tables, window=(-14, 0)).set_index("patient_id").loc["P1"]
    assert inclusive["m_easix"] == pytest.approx(500 * 20 / 200)
