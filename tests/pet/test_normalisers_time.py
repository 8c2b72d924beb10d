"""Body-size normalisers (spec §1.4 worked values, §5.4 item 10) and DICOM time parsing (§1.8)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from cartlens.pet import PETInputError
from cartlens.pet.dicomtime import combine, parse_da, parse_dt, parse_tm
from cartlens.pet.normalisers import (
    bsa_dubois_m2,
    bsa_mosteller_m2,
    ibw_kg,
    lbm_james128_kg,
    lbm_janmahasatian_kg,
    lbm_morgan_kg,
)

W, H = 70.0, 175.0


@pytest.mark.parametrize(("fn", "sex", "expected"), [
    (lbm_james128_kg, "M", 56.520), (lbm_james128_kg, "F", 51.220),       # 1.10x70 - 128x0.16; 1.07x70 - 148x0.16
    (lbm_janmahasatian_kg, "M", 55.857), (lbm_janmahasatian_kg, "F", 45.197),
    (ibw_kg, "M", 72.380), (ibw_kg, "F", 66.430),                          # 48 + 1.06 x 23; 45.5 + 0.91 x 23
    (lbm_morgan_kg, "M", 57.800),                                          # 1.10 x 70 - 120 x 0.16
])
def test_worked_values(fn, sex: str, expected: float) -> None:
    assert fn(W, H, sex) == pytest.approx(expected, abs=1e-3)


def test_sex_other_is_mean() -> None:
    assert ibw_kg(W, H, "O") == pytest.approx((72.38 + 66.43) / 2, abs=1e-4)


def test_bsa() -> None:
    assert bsa_dubois_m2(W, H) == pytest.approx(1.848143, abs=1e-4)
    assert bsa_mosteller_m2(W, H) == pytest.approx(1.844662, abs=1e-4)


def test_unknown_sex_rejected() -> None:
    with pytest.raises(PETInputError, match="must be one of") as info:
        lbm_james128_kg(W, H, "")
    assert info.value.field == "PatientSex (0010,0040)"


@pytest.mark.parametrize(("text", "seconds"), [
    ("103015.5", 10 * 3600 + 30 * 60 + 15.5), ("103015", 37815.0), ("1030", 37800.0), ("10", 36000.0),
    ("103015.123456  ", 37815.123456), ("10:30:15", 37815.0), ("10:30", 37800.0),
])
def test_parse_tm(text: str, seconds: float) -> None:
    assert parse_tm(text).total_seconds() == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["25", "1061", "10h30", "abc"])
def test_parse_tm_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="TM"):
        parse_tm(bad)


def test_parse_da_dt_combine() -> None:
    assert parse_da("20240229") == date(2024, 2, 29) and parse_da("2024.02.29") == date(2024, 2, 29)
    assert parse_tm("") is None and parse_da(" ") is None and parse_dt(None) is None
    assert parse_dt("20201217084500.00 ") == (datetime(2020, 12, 17, 8, 45), None)
    assert parse_dt("20240101100000+0100") == (datetime(2024, 1, 1, 10), 60)
    assert combine(date(2024, 1, 2), timedelta(minutes=30)) == datetime(2024, 1, 2, 0, 30)
    assert combine(None, timedelta(0)) is None
