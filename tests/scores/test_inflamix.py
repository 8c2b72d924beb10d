"""InflaMix assignment on a synthetic stand-in model (reference posteriors from R mvtnorm, committed script
``reference/inflamix_synthetic.R``), and on the official model only when a local copy is present.

cartlens ships no InflaMix parameters (inflamix.md §9): the official ``model.RData`` is looked for at
``$CARTLENS_INFLAMIX_MODEL`` or ``../shared/data/inflamix/model.RData``; those tests skip otherwise.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from cartlens.scores import ScoreInputError, compute, load_inflamix_model, model_from_arrays
from cartlens.scores.inflamix import FEATURES, INPUT_NAME

REF_DIR = Path(__file__).parent / "reference"
REF = json.loads((REF_DIR / "inflamix_synthetic.json").read_text())
WHY = f"R {REF['r_version']}, mvtnorm {REF['mvtnorm']}: tests/scores/reference/inflamix_synthetic.R"
CASES = {case["id"]: case for case in REF["cases"]}


@pytest.fixture(scope="module")
def model():
    return model_from_arrays(REF["weights"], REF["means"], REF["covariances"], REF["scaling"]["mean"],
                             REF["scaling"]["sd"], inflammatory=REF["inflammatory_component_1based"] - 1,
                             provenance="synthetic")


def _inputs(labs: dict) -> dict:
    out = {}
    for feature, (value, uln) in labs.items():
        out[INPUT_NAME[feature]] = value
        out[f"{INPUT_NAME[feature]}_uln"] = uln
    return out


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_posterior_matches_r_mvtnorm(model, case_id):
    case = CASES[case_id]
    res = compute("inflamix", _inputs(case["labs"]), model=model)
    if case["n_labs"] < 2:
        assert not res.computable and res.value is None
        assert "at least 2 labs" in res.messages[0]
        return
    assert res.computable, WHY
    assert res.value == pytest.approx(case["p_log_domain"], abs=1e-9), WHY
    assert res.group == ("Inflammatory" if case["p_log_domain"] > 0.5 else "Non-inflammatory")
    if case["r_plain_is_nan"]:       # the original (plain densities) underflows: flagged, log-domain value kept
        assert res.to_dict()["out_of_distribution"] is True
    else:
        assert res.value == pytest.approx(case["p_plain"], abs=1e-9), WHY
        assert res.to_dict()["out_of_distribution"] is False
    for name, z in case["scaled"].items():
        assert res.to_dict()["scaled"][INPUT_NAME[name]] == pytest.approx(z, abs=1e-12), WHY


def test_out_of_distribution_case_is_the_extreme_one(model):
    # S-10 mirrors IM-22 (LDH 60000, AST 2000, WBC 150, bilirubin 30): R's plain computation gives NaN
    assert CASES["S-10"]["r_plain_is_nan"] is True
    res = compute("inflamix", _inputs(CASES["S-10"]["labs"]), model=model)
    assert res.to_dict()["out_of_distribution"] is True and "out of distribution" in res.messages[-1]


def test_ratio_invariance_units_cancel(model):
    # S-7: CRP 2.1 mg/dL with ULN 0.3 mg/dL.  The same ratio stated as mg/L, or mixed units, gives the same P.
    base = _inputs(CASES["S-7"]["labs"])
    expected = CASES["S-7"]["p_log_domain"]
    variants = [
        {"crp": "21 mg/L", "crp_uln": "3 mg/L"},
        {"crp": "21 mg/L", "crp_uln": 0.3},                 # bare ULN = the calculator unit (mg/dL)
        {"crp": 2.1, "crp_uln": "3 mg/L"},
        {"hb": "102 g/L", "hb_uln": "162 g/L", "albumin": "34 g/L", "albumin_uln": "50 g/L"},
        {"ldh": "5.333333333333 ukat/L", "ldh_uln": 250},
    ]
    for change in variants:
        assert compute("inflamix", {**base, **change}, model=model).value == pytest.approx(expected, abs=1e-9), change


def test_column_order_does_not_matter(model):
    labs = CASES["S-1"]["labs"]
    forward = _inputs(labs)
    backward = dict(reversed(list(forward.items())))
    assert compute("inflamix", backward, model=model).value == compute("inflamix", forward, model=model).value


def test_uln_unit_error_changes_the_answer(model):
    # the IM-18 kind of error: CRP 21 (really mg/L) entered bare against a mg/dL ULN -> 10x ratio, different P
    base = _inputs(CASES["S-7"]["labs"])
    wrong = compute("inflamix", {**base, "crp": 21, "crp_uln": 0.3}, model=model).value
    assert wrong != pytest.approx(CASES["S-7"]["p_log_domain"], abs=1e-3)


def test_default_uln_is_used_with_a_message(model):
    labs = {"crp": 5, "ldh": 400}                            # S-5 used the calculator defaults 0.3 and 250
    res = compute("inflamix", labs, model=model)
    assert res.value == pytest.approx(CASES["S-5"]["p_log_domain"], abs=1e-9), WHY
    assert sum("default (MSK) ULN" in m for m in res.messages) == 2


def test_model_lab_names_accepted_as_aliases(model):
    labs = CASES["S-9"]["labs"]                     # hb, plt, wbc
    inputs = {"hgb": labs["hb"][0], "hgb_uln": labs["hb"][1], "platelets": labs["plt"][0],
              "platelets_uln": labs["plt"][1], "wbc": labs["wbc"][0], "wbc_uln": labs["wbc"][1]}
    assert compute("inflamix", inputs, model=model).value == pytest.approx(CASES["S-9"]["p_log_domain"], abs=1e-9)
    with pytest.raises(ScoreInputError, match="given twice"):
        compute("inflamix", {"alk": 100, "alp": 100, "crp": 1}, model=model)


def test_research_use_notice_on_every_output(model):
    res = compute("inflamix", {"crp": 5, "ldh": 400}, model=model)
    assert res.to_dict()["research_use_only"] is True
    assert any("research use only" in m for m in res.messages)


@pytest.mark.parametrize(("inputs", "field", "message"), [
    ({"crp": 0, "ldh": 300}, "crp", r"> 0 \(log10"),
    ({"crp": 1, "ldh": 300, "ldh_uln": 0}, "ldh_uln", r"must be > 0"),
    ({"crp": 1, "ldh_uln": 300}, "ldh_uln", r"without a value"),
    ({"crp": "1 U/L", "crp_uln": "3 mg/L"}, "crp", r"not a unit for crp"),
])
def test_inflamix_rejects_bad_input(model, inputs, field, message):
    with pytest.raises(ScoreInputError, match=message) as info:
        compute("inflamix", inputs, model=model)
    assert info.value.field == field


def test_inflamix_without_model_refuses():
    with pytest.raises(ScoreInputError, match="ships no parameters"):
        compute("inflamix", {"crp": 5, "ldh": 400})


def test_loader_reads_the_rdata_layout():
    # inflamix_synthetic_model.RData was written by the R script with the calculator's object layout
    loaded = load_inflamix_model(REF_DIR / "inflamix_synthetic_model.RData")
    assert loaded.features == FEATURES and loaded.inflammatory == 1
    np.testing.assert_allclose(loaded.means, np.array(REF["means"]), rtol=1e-13, atol=1e-14)  # JSON keeps 15 digits
    np.testing.assert_allclose(loaded.covariances, np.array(REF["covariances"]), rtol=1e-13, atol=1e-14)  # JSON keeps 15 digits
    np.testing.assert_allclose(loaded.scaling_sd, REF["scaling"]["sd"], rtol=1e-13, atol=1e-14)  # JSON keeps 15 digits
    res = compute("inflamix", _inputs(CASES["S-11"]["labs"]), model=REF_DIR / "inflamix_synthetic_model.RData")
    assert res.value == pytest.approx(CASES["S-11"]["p_plain"], abs=1e-9), WHY


def test_invalid_model_arrays_rejected():
    good = dict(weights=REF["weights"], means=REF["means"], covariances=REF["covariances"],
                scaling_mean=REF["scaling"]["mean"], scaling_sd=REF["scaling"]["sd"])
    bad_cov = np.array(REF["covariances"])
    bad_cov[0, 0, 1] += 1.0                                   # no longer symmetric
    with pytest.raises(ValueError, match="not symmetric"):
        model_from_arrays(**{**good, "covariances": bad_cov})
    with pytest.raises(ValueError, match="sum to 1"):
        model_from_arrays(**{**good, "weights": [0.5, 0.6]})
    with pytest.raises(ValueError, match="shape"):
        model_from_arrays(**{**good, "means": np.zeros((2, 13))})


# ------------------------------------------------------------------- official model (local copy only)

def _official_path() -> Path | None:
    candidates = [os.environ.get("CARTLENS_INFLAMIX_MODEL"),
                  str(Path(__file__).resolve().parents[2].parent / "shared" / "data" / "inflamix" / "model.RData")]
    for cand in candidates:
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


@pytest.fixture(scope="module")
def official():
    path = _official_path()
    if path is None:
        pytest.skip("official InflaMix model.RData not present (licence: not redistributed; set "
                    "CARTLENS_INFLAMIX_MODEL to a local copy from ssraj017/inflamix_app_prod myapp/model.RData)")
    return load_inflamix_model(path)


A = {"hb": 11.5, "albumin": 3.9, "ldh": 210, "crp": 0.6, "alp": 85, "ast": 22, "il6": 4, "il10": 6, "tnfa": 10,
     "ddimer": 0.8, "ferritin": 300, "bilirubin": 0.5, "plt": 180, "wbc": 5.2}
LIMITED = ("hb", "albumin", "ldh", "crp", "alp", "ast")
IM8 = {"hb": 10.2, "albumin": 3.4, "ldh": 320, "crp": 2.1, "alp": 120, "ast": 30}
IM10 = {"hb": 10, "albumin": 3.2, "ldh": 350, "crp": 5.0, "alp": 120, "ast": 40}

# inflamix.md §6 and score_cases.md K: computed with the authors' assign_clust and the app's model object
OFFICIAL = [
    ("IM-1", A, 1.333167e-10),
    ("IM-3", {k: A[k] for k in LIMITED}, 4.376095e-05),
    ("IM-5", {"crp": 5, "ldh": 400}, 0.4421611),
    ("IM-8", IM8, 0.007396828),
    ("IM-10", IM10, 0.4615883),
    ("IM-12", {**IM10, "crp": 6.0}, 0.5268079),
    ("IM-14", {"crp": 5, "albumin": 3.4}, 0.4492761),
    ("IM-16", {"hb": 9, "plt": 60, "wbc": 2}, 0.164999),
    ("IM-17", {**IM8, "crp": "21 mg/L", "crp_uln": "5 mg/L"}, 0.002946117),
    ("IM-18", {**IM8, "crp": 21, "crp_uln": 0.3}, 0.08672632),
    ("IMX-1", {**IM10, "crp": 5.5}, 0.496180),
]


@pytest.mark.parametrize(("case", "labs", "expected"), OFFICIAL)
def test_official_reference_vectors(official, case, labs, expected):
    res = compute("inflamix", labs, model=official)
    assert res.value == pytest.approx(expected, rel=1e-5, abs=1e-9), case


def test_official_model_checksums_and_edge_cases(official):
    # inflamix.md §3 "Values for checking an extraction" (summary statistics, not parameters)
    assert np.trace(official.covariances[0]) == pytest.approx(5.281556, abs=1e-5)
    assert np.trace(official.covariances[1]) == pytest.approx(28.841490, abs=1e-5)
    assert np.linalg.slogdet(official.covariances[1])[1] == pytest.approx(2.622228, abs=1e-5)
    assert official.means.sum(axis=1) == pytest.approx([-2.069720, 5.776710], abs=1e-5)
    assert not compute("inflamix", {"crp": 5}, model=official).computable                      # IM-7
    extreme = compute("inflamix", {"ldh": 60000, "ast": 2000, "wbc": 150, "bilirubin": 30}, model=official)
    assert extreme.value == pytest.approx(1.0) and extreme.to_dict()["out_of_distribution"] is True   # IM-22


def test_complete_rows_agree_with_sklearn_gaussian_mixture(model):
    # inflamix.md §5: sklearn cannot marginalise, but on complete 14-lab rows it is an independent check
    from sklearn.mixture import GaussianMixture

    gm = GaussianMixture(n_components=2, covariance_type="full")
    gm.weights_, gm.means_, gm.covariances_ = model.weights, model.means, model.covariances
    gm.precisions_cholesky_ = np.array([np.linalg.cholesky(np.linalg.inv(s)) for s in model.covariances])
    for case_id in ("S-1", "S-2"):
        res = compute("inflamix", _inputs(CASES[case_id]["labs"]), model=model).to_dict()
        z = np.array([[res["scaled"][INPUT_NAME[f]] for f in FEATURES]])
        assert gm.predict_proba(z)[0, 1] == pytest.approx(res["value"], abs=1e-9)
