"""Real vendor PET headers with known SUVbw factors (spec pet_quantification.md §1.7, §5.2).

Header values transcribed from cornerstonejs/calculate-suv (MIT licence), ``test/metadata/*-instances.json``
(three instances per series, de-identified real Siemens, GE and Philips scans); the expected factors are
``precomputedSUVFactors`` of its ``test/calculateSUV_SampleData.test.ts``, which its authors report as
checked against Fiji and a vendor workstation — independent of this code.  Each case is written as a
DICOM series and read through ``load_dicom_suv`` (stored value 10000, slope 1: SUV = 10000 x factor).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cartlens.pet import load_dicom_suv

from .dicom_factory import write_series

P = 10000
PHILIPS = "Philips PET Private Group"

CASES: dict[str, dict[str, Any]] = {
    "SIEMENS": {
        "expected": 0.00042748316187197236, "rule": "series_time",
        "series": {"SeriesDate": "20201217", "SeriesTime": "104829.000000", "PatientSex": "M", "PatientWeight": "67",
                "AcquisitionDate": "20201217", "AcquisitionTime": "104830.351370", "Units": "BQML",
                "CorrectedImage": ["NORM", "DTIM", "ATTN", "SCAT", "SCAT", "DECY", "RAN"]},
        "slices": [{"FrameReferenceTime": "38513.36", "ActualFrameDuration": 74324},
                {"FrameReferenceTime": "39189.36", "ActualFrameDuration": 75676},
                {"FrameReferenceTime": "39864.86", "ActualFrameDuration": 77027}],
        "rp": {"RadionuclideTotalDose": "374000000", "RadionuclideHalfLife": "6586.2",
            "RadiopharmaceuticalStartTime": "083045.000000", "RadiopharmaceuticalStartDateTime": "20201217083045.000000"}},
    "GE_MEDICAL_AND_BQML": {
        "expected": 0.0005367387681819742, "rule": "series_time",
        "series": {"SeriesDate": "20201217", "SeriesTime": "095621", "PatientSex": "F", "PatientSize": "1.65",
                "PatientWeight": "52", "AcquisitionDate": "20201217", "AcquisitionTime": "095621",
                "FrameReferenceTime": "0", "ActualFrameDuration": 120000, "Units": "BQML",
                "CorrectedImage": ["DECY", "ATTN", "SCAT", "DTIM", "RANSNG", "DCAL", "SLSENS", "NORM"]},
        "rp": {"RadionuclideTotalDose": "152022720", "RadionuclideHalfLife": "6586.2001953125",
            "RadiopharmaceuticalStartTime": "084500.00", "RadiopharmaceuticalStartDateTime": "20201217084500.00"}},
    "PHILIPS_BQML": {                      # Philips private factors present but Units BQML: ignored
        "expected": 0.0007463747013889488, "rule": "series_time",
        "series": {"SeriesDate": "20201217", "SeriesTime": "110155", "PatientSex": "F", "PatientSize": "1.75",
                "PatientWeight": "64", "AcquisitionDate": "20201217", "AcquisitionTime": "110156",
                "FrameReferenceTime": "1328700", "ActualFrameDuration": 120700, "Units": "BQML",
                "CorrectedImage": ["DECY", "RADL", "ATTN", "SCAT", "DTIM", "RAN", "NORM", "CLN"]},
        "rp": {"RadionuclideTotalDose": "126000000", "RadionuclideHalfLife": "6586.199707",
            "RadiopharmaceuticalStartTime": "100058", "RadiopharmaceuticalStartDateTime": "20201217100058"},
        "private": [(0x7053, 0x0010, "LO", PHILIPS), (0x7053, 0x1000, "DS", "0.003515736"),
                 (0x7053, 0x1009, "DS", "4.709921")]},
    "PHILIPS_CNTS_AND_BQML_SUV": {         # CNTS: the private SUV factor is the answer
        "expected": 0.000551, "rule": None,
        "series": {"SeriesDate": "20201217", "SeriesTime": "093556", "PatientSex": "F", "PatientWeight": "54",
                "AcquisitionDate": "20201217", "AcquisitionTime": "095439", "FrameReferenceTime": "1183000",
                "ActualFrameDuration": 120000, "Units": "CNTS",
                "CorrectedImage": ["DECY", "RADL", "ATTN", "SCAT", "DTIM", "RAN", "NORM"]},
        "rp": {"RadionuclideTotalDose": "238000000", "RadionuclideHalfLife": "6588",
            "RadiopharmaceuticalStartTime": "083000", "RadiopharmaceuticalStartDateTime": None},
        "private": [(0x7053, 0x0010, "LO", PHILIPS), (0x7053, 0x1000, "DS", "0.000551"),
                 (0x7053, 0x1009, "DS", "1.602563")]},
    "PHILIPS_CNTS_AND_SUV": {
        "expected": 0.000728, "rule": None,
        "series": {"SeriesDate": "20201217", "SeriesTime": "134551", "PatientSex": "F", "PatientWeight": "47",
                "AcquisitionDate": "20201217", "AcquisitionTime": "141336", "FrameReferenceTime": "1755000",
                "ActualFrameDuration": 180000, "Units": "CNTS",
                "CorrectedImage": ["DECY", "RADL", "ATTN", "SCAT", "DTIM", "RAN", "NORM"]},
        "rp": {"RadionuclideTotalDose": "208230000", "RadionuclideHalfLife": "6588",
            "RadiopharmaceuticalStartTime": "123000", "RadiopharmaceuticalStartDateTime": None},
        "private": [(0x7053, 0x0010, "LO", PHILIPS), (0x7053, 0x1000, "DS", "0.000728")]},
    "BQML_AC_DT_BEFORE_S_DT_SIEMENS": {    # AcquisitionTime 5 us before SeriesTime: tolerance, series time
        "expected": 0.0004069156854009332, "rule": "series_time",
        "series": {"SeriesDate": "20201217", "SeriesTime": "123515.000000", "PatientSex": "M", "PatientWeight": "65",
                "AcquisitionDate": "20201217", "AcquisitionTime": "123514.999995",
                "FrameReferenceTime": "59936.854672596", "ActualFrameDuration": 120000, "Units": "BQML",
                "CorrectedImage": ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]},
        "rp": {"RadionuclideTotalDose": "225000000", "RadionuclideHalfLife": "6586.2",
            "RadiopharmaceuticalStartTime": "114100.000000", "RadiopharmaceuticalStartDateTime": None}},
    "CPS_AND_BQML_AC_DT_-_S_DT": {         # series 46 min after acquisition, FRT 0: earliest acquisition
        "expected": 0.00026503312764157046, "rule": "earliest_acquisition",
        "series": {"SeriesDate": "20201217", "SeriesTime": "134918.000000", "PatientSex": "M", "PatientWeight": "69",
                "AcquisitionDate": "20201217", "AcquisitionTime": "130348.234000", "FrameReferenceTime": "0",
                "ActualFrameDuration": 180000, "Units": "BQML",
                "CorrectedImage": ["DECY", "SCAT", "ATTN", "NORM", "DTIM", "RAN"]},
        "rp": {"RadionuclideTotalDose": "388000000", "RadionuclideHalfLife": "6586.2",
            "RadiopharmaceuticalStartTime": "120037.000000", "RadiopharmaceuticalStartDateTime": None}},
    "RADIOPHARM_DATETIME_UNDEFINED": {     # only (0018,1072); SeriesTime before AcquisitionTime
        "expected": 0.0003721089202818729, "rule": "series_time",
        "series": {"SeriesDate": "20201217", "SeriesTime": "135431.843000", "PatientSex": "M", "PatientWeight": "102",
                "AcquisitionDate": "20201217", "AcquisitionTime": "141555.687000",
                "FrameReferenceTime": "1372857.9232493", "ActualFrameDuration": 180000, "Units": "BQML",
                "CorrectedImage": ["NORM", "DTIM", "ATTN", "SCAT", "RADL", "DECY"]},
        "rp": {"RadionuclideTotalDose": "412000000", "RadionuclideHalfLife": "6586.2",
            "RadiopharmaceuticalStartTime": "125000.000000", "RadiopharmaceuticalStartDateTime": None}},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_vendor_suvbw_factor(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    slices = case.get("slices", [{}, {}, {}])
    write_series(tmp_path / name, np.full((len(slices), 2, 2), P, np.int16), series=case["series"],
                 radiopharm=case["rp"], per_slice=slices, private=case.get("private", []))
    vol = load_dicom_suv(tmp_path / name)
    factors = vol.data[:, 0, 0].astype(np.float64) / P
    # cornerstone accepts |delta| < 1e-6 on factors of ~5e-4; we ask for 1e-6 relative (float32 storage: ~6e-8)
    assert factors == pytest.approx(np.full(len(slices), case["expected"]), rel=1e-6)
    assert vol.header["t_ref_rule"] == case["rule"]
