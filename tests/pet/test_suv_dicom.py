"""SUV from synthetic DICOM series: spec pet_quantification.md §5.4 analytic cases (hand-calculated).

Case 1 by hand: lambda = ln2 / 6586.2 s; decay over 3600 s = exp(-lambda 3600) = 0.684633;
decayed dose = 370e6 x 0.684633 = 2.533142e8 Bq; SUVbw = 5000 Bq/mL x 70000 g / 2.533142e8 Bq = 1.381683.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from cartlens.pet import PETInputError, load_dicom_suv

from .dicom_factory import write_series

SUV_START = 1.381683          # §5.4.1, hand value above
SUV_ADMIN = 0.945946          # §5.4.2: 5000 x 70000 / 370e6
NONE_FACTOR = 1.474515        # §5.4.3: [lambda T / (1 - e^-lambda T)] e^(lambda 3600), T = 180 s
A = 5000                      # stored value, slope 1 -> 5000 Bq/mL


def _px(value: int = A, shape: tuple[int, int, int] = (3, 4, 5)) -> np.ndarray:
    return np.full(shape, value, dtype=np.int16)


def _load(tmp_path: Path, **kw: object) -> object:
    write_series(tmp_path / "s", kw.pop("pixels", _px()), **kw)  # type: ignore[arg-type]
    return load_dicom_suv(tmp_path / "s")


def test_bqml_start_case1(tmp_path: Path) -> None:
    vol = _load(tmp_path)
    assert vol.data.dtype == np.float32 and vol.data.shape == (3, 4, 5)
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)
    assert vol.header["t_ref_rule"] == "series_time"
    assert vol.header["uptake_s"] == 3600.0


def test_admin_case2(tmp_path: Path) -> None:
    vol = _load(tmp_path, series={"DecayCorrection": "ADMIN"})
    assert np.allclose(vol.data, SUV_ADMIN, rtol=2e-6)


def test_none_case3(tmp_path: Path) -> None:
    vol = _load(tmp_path, series={"DecayCorrection": "NONE", "CorrectedImage": ["ATTN"]})
    assert np.allclose(vol.data, SUV_ADMIN * NONE_FACTOR, rtol=2e-6)


def test_per_slice_slope_exact_float_case4(tmp_path: Path) -> None:
    # GML with SUVType BW: SUV = P x m; 1309 x 0.55 = 719.95 must not be truncated to 719
    px = _px(1309, (2, 2, 2))
    vol = _load(tmp_path, pixels=px, slopes=[1.0, 0.55], series={"Units": "GML", "SUVType": "BW"})
    assert vol.data[0, 0, 0] == np.float32(1309.0)
    assert vol.data[1, 0, 0] == np.float32(1309 * 0.55)


PHILIPS = "Philips PET Private Group"


def test_philips_cnts_suv_factor_through_creator_case5(tmp_path: Path) -> None:
    # creator reserved at (7053,0011) so the SUV factor sits at (7053,1100), not (7053,1000)
    priv = [(0x7053, 0x0011, "LO", PHILIPS), (0x7053, 0x1100, "DS", "0.0005")]
    vol = _load(tmp_path, series={"Units": "CNTS"}, private=priv)
    assert np.allclose(vol.data, A * 0.0005, rtol=1e-6)           # SUV = P x m x f


def test_philips_cnts_activity_factor(tmp_path: Path) -> None:
    priv = [(0x7053, 0x0010, "LO", PHILIPS), (0x7053, 0x1009, "DS", "0.5")]
    vol = _load(tmp_path, pixels=_px(2 * A), series={"Units": "CNTS"}, private=priv)
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)            # 10000 x 0.5 = 5000 Bq/mL


def test_philips_tags_ignored_for_bqml_case5(tmp_path: Path) -> None:
    priv = [(0x7053, 0x0010, "LO", PHILIPS), (0x7053, 0x1000, "DS", "0.003516"), (0x7053, 0x1009, "DS", "7")]
    vol = _load(tmp_path, private=priv)
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)


def test_cnts_without_factors_rejected(tmp_path: Path) -> None:
    with pytest.raises(PETInputError, match="CNTS without a non-zero Philips") as info:
        _load(tmp_path, series={"Units": "CNTS"})
    assert info.value.field == "Units (0054,1001)"


def test_units_sanity_case6(tmp_path: Path) -> None:
    # 70000 -> 70 kg (grams); 370 -> 370 MBq; 175 -> 175 cm (read as cm, needed for SUVlbm)
    write_series(tmp_path / "s", _px(), series={"PatientWeight": "70000", "PatientSize": "175"},
                 radiopharm={"RadionuclideTotalDose": "370"})
    vol = load_dicom_suv(tmp_path / "s", suv_type="lbm_james")
    # SUVlbm = SUVbw x LBM / W; James male 70 kg 175 cm: 1.10 x 70 - 128 x (70/175)^2 = 56.52 kg
    assert np.allclose(vol.data, SUV_START * 56.52 / 70.0, rtol=2e-6)
    assert {"weight_read_as_grams", "dose_read_as_mbq", "height_read_as_cm"} <= set(vol.qc_flags)


def test_midnight_case7(tmp_path: Path) -> None:
    # injection 23:30 (time only), series and acquisition 00:30 the next day: 3600 s uptake
    vol = _load(tmp_path, series={"SeriesDate": "20240102", "SeriesTime": "003000", "AcquisitionDate": "20240102",
                                  "AcquisitionTime": "003000"},
                radiopharm={"RadiopharmaceuticalStartTime": "233000", "RadiopharmaceuticalStartDateTime": None})
    assert vol.header["uptake_s"] == 3600.0
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)
    assert "injection_before_midnight" in vol.qc_flags


def test_series_time_within_tolerance_case8(tmp_path: Path) -> None:
    vol = _load(tmp_path, series={"SeriesTime": "110000.000001", "AcquisitionTime": "110000"})
    assert vol.header["t_ref_rule"] == "series_time"


def test_back_computed_reference_time(tmp_path: Path) -> None:
    # re-saved series (SeriesTime 11:30); frame 120 s starting 11:00:00, FrameReferenceTime 60 s.
    # t_ref = 11:00:00 + T_ave - 60 s with T_ave(120 s, F-18) = 59.94 s (spec §1.6) -> uptake 3599.94 s
    vol = _load(tmp_path, series={"SeriesTime": "113000", "AcquisitionTime": "110000", "FrameReferenceTime": 60000,
                                  "ActualFrameDuration": 120000})
    assert vol.header["t_ref_rule"] == "frame_reference_back_computed"
    assert vol.header["uptake_s"] == pytest.approx(3599.94, abs=0.01)


def test_earliest_acquisition_fallback(tmp_path: Path) -> None:
    # SeriesTime after acquisition, FrameReferenceTime 0 -> step 5: earliest AcquisitionTime (11:00)
    per_slice = [{"AcquisitionTime": t} for t in ("110200", "110000", "110400")]
    vol = _load(tmp_path, series={"SeriesTime": "113000"}, per_slice=per_slice)
    assert vol.header["t_ref_rule"] == "earliest_acquisition"
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)


def test_ge_private_scan_datetime(tmp_path: Path) -> None:
    priv = [(0x0009, 0x0010, "LO", "GEMS_PETD_01"), (0x0009, 0x100D, "DT", "20240101110000")]
    vol = _load(tmp_path, series={"SeriesTime": "113000", "AcquisitionTime": "113000"}, private=priv)
    assert vol.header["t_ref_rule"] == "ge_private_scan_datetime"
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)


def test_half_life_from_code_sequence(tmp_path: Path) -> None:
    vol = _load(tmp_path, radiopharm={"RadionuclideHalfLife": None})
    assert "half_life_from_code_sequence:F-18" in vol.qc_flags
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)


def test_ga68_half_life(tmp_path: Path) -> None:
    # Ga-68, T1/2 4057.7 s: SUV = 5000 x 70000 / (370e6 exp(-ln2 3600 / 4057.7))
    vol = _load(tmp_path, radiopharm={"RadionuclideHalfLife": "4057.7", "Radiopharmaceutical": "Ga68-PSMA"})
    expected = 5000 * 70000 / (370e6 * math.exp(-math.log(2) * 3600 / 4057.7))
    assert np.allclose(vol.data, expected, rtol=2e-6)


@pytest.mark.parametrize(("series", "radiopharm", "field", "message"), [
    ({"Units": "PROPCNTS"}, {}, "Units (0054,1001)", "not quantitative"),
    ({"CorrectedImage": ["DECY", "SCAT"]}, {}, "CorrectedImage (0028,0051)", "lacks ATTN"),
    ({"PatientWeight": None}, {}, "PatientWeight (0010,1030)", "needed for SUV"),
    ({"PatientWeight": "0"}, {}, "PatientWeight (0010,1030)", "needed for SUV"),
    ({}, {"RadionuclideTotalDose": "0"}, "RadionuclideTotalDose (0018,1074)", "needed for SUV"),
    ({}, {"RadiopharmaceuticalStartTime": None, "RadiopharmaceuticalStartDateTime": None},
     "RadiopharmaceuticalStartTime (0018,1072)", "injection time missing"),
    ({}, {"RadiopharmaceuticalStartDateTime": "20240101120000"}, "RadiopharmaceuticalStartDateTime (0018,1078)",
     "after the reference time"),
    ({"SeriesType": ["DYNAMIC", "IMAGE"]}, {}, "SeriesType (0054,1000)", "dynamic/gated"),
    ({"DecayCorrection": "SOMETIMES"}, {}, "DecayCorrection (0054,1102)", "not START, ADMIN or NONE"),
])
def test_rejections_case9(tmp_path: Path, series: dict, radiopharm: dict, field: str, message: str) -> None:
    with pytest.raises(PETInputError, match=message) as info:
        _load(tmp_path, series=series, radiopharm=radiopharm)
    assert info.value.field == field


def test_unknown_half_life_rejected(tmp_path: Path) -> None:
    write_series(tmp_path / "s", _px(), radiopharm={"RadionuclideHalfLife": None})
    import pydicom
    for f in (tmp_path / "s").iterdir():           # blank the code sequence too: nothing to derive from
        ds = pydicom.dcmread(f)
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0].CodeValue = "X-0"
        ds.RadiopharmaceuticalInformationSequence[0].RadionuclideCodeSequence[0].CodeMeaning = "unknown"
        ds.save_as(f)
    with pytest.raises(PETInputError, match="names no known nuclide"):
        load_dicom_suv(tmp_path / "s")


def test_fdg_uptake_outside_window_flagged(tmp_path: Path) -> None:
    vol = _load(tmp_path, radiopharm={"RadiopharmaceuticalStartDateTime": "20240101090000"})   # 120 min
    assert any(f.startswith("uptake_outside_45_90_min:120.0") for f in vol.qc_flags)


def test_nac_series_skipped_study_continues(tmp_path: Path) -> None:
    write_series(tmp_path / "s" / "ac", _px())
    write_series(tmp_path / "s" / "nac", _px(9999), series={"CorrectedImage": ["DECY"]})
    vol = load_dicom_suv(tmp_path / "s")
    assert np.allclose(vol.data, SUV_START, rtol=2e-6)
    assert "skipped_non_ac_series:1" in vol.qc_flags


def test_time_only_injection_just_after_scan_is_rejected(tmp_path: Path) -> None:
    # injection 11:00:10 (time only), scan 11:00: a previous-day injection would be 23 h 59 min of uptake
    with pytest.raises(PETInputError, match="clock mismatch") as info:
        _load(tmp_path, radiopharm={"RadiopharmaceuticalStartTime": "110010", "RadiopharmaceuticalStartDateTime": None})
    assert info.value.field == "RadiopharmaceuticalStartTime (0018,1072)"
