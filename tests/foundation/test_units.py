"""cartlens.units against hand calculations (sources in each comment)."""

from __future__ import annotations

import pytest

from cartlens.units import (
    PLAUSIBLE,
    UnitError,
    canonical_unit,
    check_plausible,
    convert,
    from_canonical,
    normalise_unit,
    parse_quantity,
    units_for,
)


@pytest.mark.parametrize(("analyte", "value", "unit", "expected"), [
    # 1 dL = 0.1 L, so 45 mg/L = 4.5 mg/dL (scores.md section 10: 1 mg/dL = 10 mg/L)
    ("crp", 45.0, "mg/L", 4.5),
    ("crp", 3.0, "mg/dL", 3.0),
    # Hb: 85 g/L = 8.5 g/dL
    ("hb", 85.0, "g/L", 8.5),
    # Hb monomer 16 114.5 g/mol: 5.59 mmol/L x 16.1145 g/mmol / 10 = 9.008 g/dL (scores.md: 9.0 g/dL = 5.59 mmol/L)
    ("hb", 5.59, "mmol/L", 5.59 * 16114.5 / 10_000),
    # platelets: 175 000 /uL x 10^6 uL/L = 175 x 10^9 /L
    ("plt", 175_000.0, "/uL", 175.0),
    ("anc", 1200.0, "cells/µL", 1.2),
    ("wbc", 4.2, "K/uL", 4.2),
    ("plt", 80.0, "G/L", 80.0),
    # creatinine: 88.4 umol/L = 1 mg/dL (scores.md section 10; 10 000 / 113.12 g/mol = 88.40)
    ("creatinine", 88.4, "µmol/L", 1.0),
    ("creatinine", 176.8, "umol/L", 2.0),
    # LDH: 1 ukat/L = 1 umol/s/L = 60 umol/min/L = 60 U/L
    ("ldh", 4.0, "µkat/L", 240.0),
    ("ldh", 250.0, "IU/L", 250.0),
    ("alt", 0.5, "ukat/L", 30.0),
    # albumin 35 g/L = 3.5 g/dL; bilirubin 17.1 umol/L = 1 mg/dL (scores.md section 10)
    ("albumin", 35.0, "g/L", 3.5),
    ("bilirubin", 34.2, "umol/L", 2.0),
    # ferritin 1 ng/mL = 1 ug/L = 2.247 pmol/L
    ("ferritin", 650.0, "ug/L", 650.0),
    ("ferritin", 2247.0, "pmol/L", 1000.0),
    # D-dimer: 500 ng/mL = 0.5 ug/mL = 0.5 mg/L (basis FEU/DDU not converted)
    ("ddimer", 500.0, "ng/mL", 0.5),
    ("ddimer", 500.0, "µg/L", 0.5),
    ("ddimer", 0.5, "ug/mL", 0.5),
    # IL-6: 1 ng/mL = 1000 pg/mL; 1 ng/L = 1 pg/mL
    ("il6", 1.5, "ng/mL", 1500.0),
    ("il6", 40.0, "ng/L", 40.0),
])
def test_convert_hand_calculated(analyte: str, value: float, unit: str, expected: float) -> None:
    assert convert(analyte, value, unit) == pytest.approx(expected, rel=1e-12)


def test_reverse_factors_match_published_rounded_values() -> None:
    # 1 g/dL Hb = 0.6206 mmol/L (scores.md section 10) -> the inverse of our factor, to 4 decimals
    assert 1.0 / convert("hb", 1.0, "mmol/L") == pytest.approx(0.6206, abs=5e-5)
    # 1 mg/dL creatinine = 88.4 umol/L; the molar-mass value 10 000 / 113.12 = 88.402
    assert 1.0 / convert("creatinine", 1.0, "umol/L") == pytest.approx(10_000 / 113.12, abs=0.01)
    # 1 mg/dL bilirubin = 17.1 umol/L; molar mass 584.66 g/mol gives 17.104
    assert 1.0 / convert("bilirubin", 1.0, "umol/L") == pytest.approx(10_000 / 584.66, abs=0.01)


@pytest.mark.parametrize(("analyte", "unit"), [
    ("crp", "mg/dL"), ("hb", "g/dL"), ("plt", "10^9/L"), ("anc", "10^9/L"), ("wbc", "10^9/L"),
    ("ferritin", "ng/mL"), ("creatinine", "mg/dL"), ("ldh", "U/L"), ("albumin", "g/dL"),
])
def test_canonical_units_of_data_model(analyte: str, unit: str) -> None:
    assert canonical_unit(analyte) == unit            # data_model.md labs: "Values are converted to ..."


@pytest.mark.parametrize(("analyte", "unit"), [("crp", "U/L"), ("ldh", "mg/dL"), ("hb", "10^9/L"),
                                               ("plt", "g/dL"), ("creatinine", "g/L"), ("ferritin", "furlong")])
def test_unit_that_does_not_fit_the_analyte(analyte: str, unit: str) -> None:
    with pytest.raises(UnitError, match=f"is not a unit for {analyte}") as info:
        convert(analyte, 1.0, unit)
    assert info.value.column == "unit"


def test_unknown_analyte() -> None:
    with pytest.raises(UnitError, match="unknown analyte 'crpp'"):
        canonical_unit("crpp")


@pytest.mark.parametrize(("analyte", "value", "unit", "intended"), [
    ("crp", 45.0, "mg/dL", "mg/L"),          # data_model.md example
    ("hb", 85.0, "g/dL", "g/L"),             # data_model.md example
    ("plt", 175_000.0, "10^9/L", "/uL"),     # data_model.md example
    ("anc", 1200.0, "10^9/L", "/uL"),
    ("creatinine", 88.0, "mg/dL", "umol/L"),  # scores.md section 10, unit bug 4
    ("albumin", 35.0, "g/dL", "g/L"),
    ("ldh", 4.0, "U/L", "ukat/L"),
])
def test_implausible_magnitude_names_intended_unit(analyte: str, value: float, unit: str, intended: str) -> None:
    with pytest.raises(UnitError, match=f"did you mean {intended}") as info:
        check_plausible(analyte, value, unit)
    assert info.value.suggested_unit == intended
    assert info.value.column == "value"


@pytest.mark.parametrize(("analyte", "value", "unit"), [
    ("crp", 4.5, "mg/dL"), ("crp", 45.0, "mg/L"), ("hb", 8.5, "g/dL"), ("plt", 175.0, "10^9/L"),
    ("creatinine", 88.0, "umol/L"), ("ldh", 240.0, "U/L"), ("hb", 5.59, "mmol/L"),
])
def test_plausible_values_pass(analyte: str, value: float, unit: str) -> None:
    check_plausible(analyte, value, unit)   # raises on failure


def test_plausible_boundaries_are_inclusive() -> None:
    _low, high = PLAUSIBLE["crp"]
    check_plausible("crp", high, "mg/dL")
    with pytest.raises(UnitError):
        check_plausible("crp", high + 0.1, "mg/dL")


@pytest.mark.parametrize(("text", "expected"), [
    ("45 mg/L", (45.0, "mg/L", None)),
    ("45mg/L", (45.0, "mg/L", None)),
    ("<0.5", (0.5, None, "<")),
    ("< 0.5 mg/dL", (0.5, "mg/dL", "<")),
    ("≤3", (3.0, None, "<")),
    (">2000 ng/mL", (2000.0, "ng/mL", ">")),
    ("  7.25  ", (7.25, None, None)),
    ("1e3 /uL", (1000.0, "/uL", None)),
    ("2.5 10^9/L", (2.5, "10^9/L", None)),
    ("180 10*3/uL", (180.0, "10*3/uL", None)),
    (12, (12.0, None, None)),
])
def test_parse_quantity(text: str, expected: tuple) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "4,5", "4,5 mg/L", "1,200 /uL", "40 000 /uL", "2.5 100/L", "mg/L 45",
                                  "nan", "inf", ".5.5"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="is not a"):
        parse_quantity(text)


def test_aliases_normalise_to_one_spelling() -> None:
    assert normalise_unit("plt", "x10^9/l") == "10^9/L"
    assert normalise_unit("crp", "MG/L") == "mg/L"
    assert normalise_unit("ldh", "µkat/L") == "ukat/L"
    assert units_for("crp") == ["mg/dL", "mg/L"]


def test_from_canonical_inverts_convert() -> None:
    # scores.md section 10 thresholds: Hb 9.0 g/dL = 90 g/L; CRP 3.0 mg/dL = 30 mg/L; ANC 1.2 x 10^9/L = 1200 /uL
    assert from_canonical("hb", 9.0, "g/L") == pytest.approx(90.0)
    assert from_canonical("crp", 3.0, "mg/L") == pytest.approx(30.0)
    assert from_canonical("anc", 1.2, "/uL") == pytest.approx(1200.0)
    assert from_canonical("hb", 9.0, "mmol/L") == pytest.approx(5.59, abs=0.005)   # scores.md: 5.59 mmol/L


def test_conversion_is_exact_decimal_arithmetic() -> None:
    # 106 g/L is exactly 10.6 g/dL; binary floating point gives 106 * 0.1 = 10.600000000000001, which would make
    # a centre reporting g/L disagree with one reporting g/dL in the last bit (and re-imports look "changed").
    assert 106 * 0.1 != 10.6
    assert convert("hb", 106.0, "g/L") == 10.6
    assert convert("crp", 2.1, "mg/L") == 0.21
    assert convert("plt", 123_456.0, "/uL") == 123.456
    assert convert("creatinine", 88.4, "umol/L") == 1.0
    assert from_canonical("crp", 0.21, "mg/L") == 2.1
