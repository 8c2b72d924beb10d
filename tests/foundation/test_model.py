"""Domain types refuse invalid values at construction and name the field; schema vocabulary."""

from __future__ import annotations

import pytest

from cartlens.model import FieldError, LabValue, Lesion, LesionMeasurement, Outcome, Patient, Scan, Toxicity
from cartlens.model.schema import NCCN_KEY_SITES, SITES, TABLES, is_lymphatic, is_nodal


def _patient(**changes: object) -> Patient:
    values: dict[str, object] = {"patient_id": "P1", "centre": "A", "age": 60.0, "stage": 3}
    values.update(changes)
    return Patient(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"age": 17.0}, "age", r"17 is out of range \(allowed 18-100 years\)"),
    ({"age": 101}, "age", "out of range"),
    ({"stage": 5}, "stage", r"5 is out of range \(allowed 1-4\)"),
    ({"stage": 2.5}, "stage", "is not a whole number"),
    ({"ecog": -1}, "ecog", "out of range"),
    ({"sex": "X"}, "sex", r"'X' is not one of \['F', 'M'\]"),
    ({"histology": "dlbcl"}, "histology", "is not one of"),        # the type is exact; readers normalise case
    ({"patient_id": None}, "patient_id", "required value is missing"),
    ({"prior_auto_hct": "yes"}, "prior_auto_hct", "is not true/false"),
    ({"mtv_ml": 40.0}, "mtv_method", "required with mtv_ml"),
    ({"mtv_ml": -1.0, "mtv_method": "suv4"}, "mtv_ml", "out of range"),
    ({"extranodal_sites": ("liver", "cervical")}, "extranodal_sites", "'cervical' is a nodal site"),
    ({"extranodal_sites": "liver;liver"}, "extranodal_sites", "more than once"),
    ({"extranodal_sites": "moon"}, "extranodal_sites", "'moon' is not one of"),
])
def test_patient_rejects(changes: dict, field: str, message: str) -> None:
    with pytest.raises(FieldError, match=message) as info:
        _patient(**changes)
    assert info.value.column == field


def test_patient_boundaries_and_sites() -> None:
    assert _patient(age=18.0).age == 18.0 and _patient(age=100).age == 100     # inclusive range
    p = _patient(extranodal_sites="liver; bone_marrow", product="liso-cel")
    assert p.extranodal_sites == ("liver", "bone_marrow")
    assert p.costimulation == "4-1BB"          # liso-cel: 4-1BB co-stimulation (Breyanzi label)


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"pfs_event": 1}, "pfs_event", "pfs_event given without pfs_days"),
    ({"os_days": 100.0}, "os_days", "os_days given without os_event"),
    ({"os_days": -1.0, "os_event": 0}, "os_days", "out of range"),
    ({"pfs_days": 10.0, "pfs_event": 2}, "pfs_event", "out of range"),
])
def test_outcome_rejects(kwargs: dict, field: str, message: str) -> None:
    with pytest.raises(FieldError, match=message) as info:
        Outcome(**kwargs)
    assert info.value.column == field


@pytest.mark.parametrize(("ldi", "sdi", "state", "field", "message"), [
    (2.1, 2.4, "measured", "sdi_cm", r"2.4 cm must not exceed ldi_cm \(2.1 cm\)"),
    (2.1, None, "measured", "sdi_cm", "state 'measured' needs sdi_cm"),
    (None, 1.0, "measured", "ldi_cm", "state 'measured' needs ldi_cm"),
    (-1.0, -2.0, "measured", "ldi_cm", "out of range"),
    (None, None, "gone", "state", "'gone' is not one of"),
])
def test_measurement_rejects(ldi: float | None, sdi: float | None, state: str, field: str, message: str) -> None:
    with pytest.raises(FieldError, match=message) as info:
        LesionMeasurement("P1", "A", "S1", "L1", state, ldi, sdi)
    assert info.value.column == field


def test_measurement_boundary_sdi_equal_ldi_and_exact_tenths() -> None:
    m = LesionMeasurement("P1", "A", "S1", "L1", "measured", 2.3, 2.3)
    assert (m.ldi_tenth_mm, m.sdi_tenth_mm) == (230, 230)          # 2.3 cm = 23.0 mm = 230 tenths
    assert m.product_cm2 == pytest.approx(5.29)                      # 2.3 x 2.3


def test_lab_value_requires_canonical_unit() -> None:
    with pytest.raises(FieldError, match="not the canonical unit 'mg/dL' of crp") as info:
        LabValue("P1", "A", -5, "crp", 45.0, "mg/L")
    assert info.value.column == "unit"
    lab = LabValue("P1", "A", -5, "ldh", 500.0, "U/L", uln=250.0)
    assert lab.uln_ratio == 2.0


@pytest.mark.parametrize(("cls", "kwargs", "field"), [
    (Toxicity, {"patient_id": "P1", "centre": "A", "crs_grade": 6, "icans_grade": 0}, "crs_grade"),
    (Toxicity, {"patient_id": "P1", "centre": "A", "crs_grade": 1, "icans_grade": 0, "icaht_grade": 5},
     "icaht_grade"),
    (Scan, {"patient_id": "P1", "centre": "A", "scan_id": "S1", "day": 30, "modality": "mri"}, "modality"),
    (Scan, {"patient_id": "P1", "centre": "A", "scan_id": "S1", "day": 30, "modality": "ct", "spleen_cm": -2.0},
     "spleen_cm"),
    (Lesion, {"patient_id": "P1", "centre": "A", "lesion_id": "L1", "site": "elbow", "nodal": True}, "site"),
    (Lesion, {"patient_id": "P1", "centre": "A", "lesion_id": "L1", "site": "liver", "nodal": False,
              "role": "index"}, "role"),
])
def test_other_types_reject(cls: type, kwargs: dict, field: str) -> None:
    with pytest.raises(FieldError) as info:
        cls(**kwargs)
    assert info.value.column == field


def test_from_row_reads_a_canonical_row_with_nan() -> None:
    row = {"patient_id": "P1", "centre": "A", "age": 60.0, "stage": 3, "ecog": float("nan"),
           "pfs_days": 100.0, "pfs_event": 1, "os_days": float("nan"), "os_event": None, "extra": "ignored"}
    p = Patient.from_row(row)
    assert p.ecog is None and p.outcome == Outcome(pfs_days=100.0, pfs_event=1)


def test_site_vocabulary() -> None:
    # data_model.md: 11 nodal + 15 extranodal names; NCCN-IPI key sites (Zhou et al., Blood 2014, Table 2)
    assert len(SITES) == 26
    assert is_nodal("waldeyer") and not is_nodal("spleen") and is_lymphatic("spleen")
    assert NCCN_KEY_SITES == {"bone_marrow", "cns", "liver", "gi_tract", "lung"}
    with pytest.raises(ValueError, match="not in the site vocabulary"):
        is_nodal("elbow")


def test_tables_spec_matches_data_model() -> None:
    assert list(TABLES) == ["patients", "labs", "scans", "lesions", "toxicity", "biomarkers"]
    assert TABLES["patients"].required_columns == ["patient_id", "centre", "age", "stage"]
    assert TABLES["lesions"].key == ("centre", "patient_id", "scan_id", "lesion_id")
    assert TABLES["toxicity"].by_name["crs_grade"].maximum == 5
