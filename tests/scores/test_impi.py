"""IMPI linear predictor (score_cases.md D) and CAR-IMPI (score_cases.md E, scores.md §6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cartlens.scores import CarImpi, CarImpiCutoffs, CoefficientsNotConfigured, compute, group_car_impi
from cartlens.scores import car_impi as car_impi_module
from cartlens.scores.car_impi import cutoffs_from_development

EXAMPLE = Path(car_impi_module.__file__).parent / "data" / "car_impi_example.toml"


@pytest.mark.parametrize(("case", "mtv", "age", "stage", "lp"), [
    ("IMPI-1", 100, 60, "I", 0.793280),
    ("IMPI-3", 1000, 70, "III", 2.013373),
    ("IMPI-5", 0, 55, "II", 0.330439),
    ("IMPI-7", 308.9, 62, "IV", 1.771804),
])
def test_impi_cases(case, mtv, age, stage, lp):
    res = compute("impi", dict(mtv=mtv, age=age, stage=stage))
    assert res.value == pytest.approx(lp, abs=5e-7), case
    assert res.unverified is True and res.group is None
    assert res.to_dict()["unverified"] is True


def test_impi_continuity_at_the_knot():
    # one mL above the knot adds 0.003077330 - 0.002761985 = 0.000315345 (score_cases.md IMPI-7)
    at = compute("impi", dict(mtv=307.9, age=62, stage=4)).value
    above = compute("impi", dict(mtv=308.9, age=62, stage=4)).value
    below = compute("impi", dict(mtv=306.9, age=62, stage=4)).value
    assert above - at == pytest.approx(0.000315345, abs=1e-12)
    assert at - below == pytest.approx(0.003077330, abs=1e-12)


def test_impi_zero_mtv_flagged_out_of_domain():
    res = compute("impi", dict(mtv=0, age=55, stage=2))
    assert res.to_dict()["out_of_domain"] is True
    assert any("outside its domain" in m for m in res.messages)


# ------------------------------------------------------------------------------------------- CAR-IMPI


def test_published_cutoffs_are_pinned():
    # scores.md §6: median 1.35; terciles 1.07 / 1.58 (abstract); 1.53 the documented alternative.
    # If this fails, update scores.md §6 and docs/scores.md together with the constants.
    assert (car_impi_module.MEDIAN_CUTOFF, car_impi_module.LOWER_TERCILE, car_impi_module.UPPER_TERCILE) == (
        1.35, 1.07, 1.58)
    assert car_impi_module.UPPER_TERCILE_ALTERNATIVE == 1.53
    assert car_impi_module.DEFAULT_KNOT_ML == 44.3


@pytest.mark.parametrize(("case", "lp", "median", "terciles", "terciles_alt"), [
    ("CI-1", 1.0699, "low", "low", "low"),
    ("CI-3", 1.35, "high", "intermediate", "intermediate"),
    ("CI-5", 1.58, "high", "high", "high"),
])
def test_car_impi_grouping_cases(case, lp, median, terciles, terciles_alt):
    assert group_car_impi(lp) == {"median": median, "terciles": terciles}, case
    alt = CarImpiCutoffs(upper_tercile=1.53)
    assert group_car_impi(lp, cutoffs=alt)["terciles"] == terciles_alt, case


def test_car_impi_alternative_upper_tercile_boundary():
    # 1.55 lies between 1.53 and 1.58: high under the alternative, intermediate under the abstract
    assert group_car_impi(1.55)["terciles"] == "intermediate"
    assert group_car_impi(1.55, cutoffs=CarImpiCutoffs(upper_tercile=1.53))["terciles"] == "high"


def test_car_impi_refuses_without_coefficients():
    with pytest.raises(CoefficientsNotConfigured, match="coefficients not configured"):
        compute("car-impi", dict(mtv=50, age=60, stage=3))


def test_example_file_is_refused_unless_allowed():
    with pytest.raises(CoefficientsNotConfigured, match="example"):
        compute("car-impi", dict(mtv=50, age=60, stage=3), coefficients=EXAMPLE)
    res = compute("car-impi", dict(mtv=50, age=60, stage=3), coefficients=EXAMPLE, allow_example=True)
    # by hand with the example file: 0.0149*50 - 0.0062*(50-44.3) + 0.008092449*60 + 0.281141117
    expected = 0.745 - 0.03534 + 0.48554694 + 0.281141117
    assert res.value == pytest.approx(expected, abs=1e-12)
    assert res.group == "high" and res.to_dict()["group_terciles"] == "intermediate"   # 1.4763: 1.35..1.58
    assert any("EXAMPLE" in m for m in res.messages)


def _fitted() -> CarImpi:
    return CarImpi(coefficients={"mtv": 0.01, "mtv_above_knot": -0.008, "age": 0.01,
                                 "stage": {1: 0.0, 2: 0.1, 3: 0.2, 4: 0.3}},
                   knot=44.3, provenance={"status": "fitted", "source": "unit test cohort"})


def test_fitted_and_configured_models_are_used_the_same_way(tmp_path):
    fitted = _fitted()
    text = """
[provenance]
status = "reviewed"
source = "unit test"
reviewed_by = "tester"
reviewed_on = "2026-01-01"
[coefficients]
mtv = 0.01
mtv_above_knot = -0.008
age = 0.01
[coefficients.stage]
1 = 0.0
2 = 0.1
3 = 0.2
4 = 0.3
"""
    path = tmp_path / "reviewed.toml"
    path.write_text(text)
    configured = CarImpi.from_toml(path)
    inputs = dict(mtv=100, age=70, stage=4)
    # by hand: 0.01*100 - 0.008*(100-44.3) + 0.01*70 + 0.3 = 1 - 0.4456 + 0.7 + 0.3 = 1.5544
    for model in (fitted, configured, path):
        res = compute("car-impi", inputs, coefficients=model)
        assert res.value == pytest.approx(1.5544, abs=1e-12)
        assert (res.group, res.to_dict()["group_terciles"]) == ("high", "intermediate")
    assert fitted.linear_predictor(100, 70, 4) == pytest.approx(1.5544, abs=1e-12)
    assert compute("car-impi", inputs, coefficients=fitted, upper_tercile=1.53).to_dict()["group_terciles"] == "high"


@pytest.mark.parametrize(("change", "message"), [
    ({"coefficients": {"mtv": 0.01}}, r"need exactly"),
    ({"provenance": {"status": "reviewed"}}, r"provenance: missing \['source'\]"),
    ({"provenance": {"status": "draft", "source": "x"}}, r"provenance.status"),
])
def test_invalid_models_rejected(change, message):
    base = dict(coefficients=dict(_fitted().coefficients), provenance={"status": "fitted", "source": "x"})
    with pytest.raises(ValueError, match=message):
        CarImpi(**{**base, **change})


def test_unknown_toml_table_rejected(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[provenance]\nstatus = "reviewed"\nsource = "x"\n[coefs]\nmtv = 1\n')
    with pytest.raises(ValueError, match=r"bad.toml: unknown table"):
        CarImpi.from_toml(path)


def test_cutoffs_from_development_match_r_quantile_type7():
    # R: quantile(c(0.5, 0.9, 1.1, 1.3, 2.0, 2.4), c(1/3, 0.5, 2/3)) -> 0.9666667, 1.2, 1.4 (type 7 by hand:
    # h = (n-1)p; 1/3 -> h = 5/3: 0.9 + 2/3*0.2; 1/2 -> h = 2.5: (1.1+1.3)/2; 2/3 -> h = 10/3: 1.3 + 1/3*0.7)
    cut = cutoffs_from_development([2.4, 0.5, 1.3, 0.9, 2.0, 1.1])
    assert (cut.lower_tercile, cut.median, cut.upper_tercile) == pytest.approx((0.9 + 0.4 / 3, 1.2, 1.3 + 0.7 / 3))


def test_options_may_be_passed_among_the_inputs():
    # as on the command line: --coefficients FILE sits beside the inputs
    res = compute("car-impi", dict(mtv=50, age=60, stage=3, coefficients=EXAMPLE, allow_example=True))
    assert res.computable and res.to_dict()["provenance"]["status"] == "example"
