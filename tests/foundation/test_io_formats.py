"""CSV, XLSX and Parquet inputs give the same canonical tables; the one-workbook form; REDCap mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartlens.io import read_data_dir, read_redcap, read_workbook, write_data_dir

from .helpers import DATA, write_files

TABLES = ("patients", "labs", "scans", "lesions", "toxicity")


def _convert_dir(tmp_path: Path, fmt: str) -> Path:
    """Re-save the CSV files of data/good with pandas' own writers (independent of cartlens.io.writers)."""
    out = tmp_path / fmt
    out.mkdir()
    for name in TABLES:
        if fmt == "xlsx":   # text cells, exactly as a user typing into Excel would
            pd.read_csv(DATA / "good" / f"{name}.csv", dtype=str).to_excel(out / f"{name}.xlsx", index=False)
        else:               # typed columns as pandas infers them
            pd.read_csv(DATA / "good" / f"{name}.csv").to_parquet(out / f"{name}.parquet", index=False)
    return out


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_formats_give_equal_tables(tmp_path: Path, fmt: str) -> None:
    reference = read_data_dir(DATA / "good")
    other = read_data_dir(_convert_dir(tmp_path, fmt))
    assert other.ok, [str(e) for e in other.errors]
    for name in TABLES:
        pd.testing.assert_frame_equal(other.tables[name], reference.tables[name], obj=name)
    assert set(other.source_hashes) == {f"{n}.{fmt}" for n in TABLES}


@pytest.mark.parametrize("fmt", ["xlsx", "parquet"])
def test_errors_in_other_formats_use_spreadsheet_rows(tmp_path: Path, fmt: str) -> None:
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "centre": ["A", "A"], "age": [50, 17], "stage": [2, 2]})
    root = tmp_path / fmt
    root.mkdir()
    if fmt == "xlsx":
        frame.to_excel(root / "patients.xlsx", index=False)
    else:
        frame.to_parquet(root / "patients.parquet", index=False)
    assert [str(e) for e in read_data_dir(root).errors] == [
        f"patients.{fmt}:3:age: 17 is out of range (allowed 18-100 years)"]   # header row 1, P2 on row 3


def test_two_files_for_one_table_is_an_error(tmp_path: Path) -> None:
    root = _convert_dir(tmp_path, "parquet")
    (root / "patients.csv").write_bytes((DATA / "good" / "patients.csv").read_bytes())
    errors = [str(e) for e in read_data_dir(root).errors]
    assert errors == [("patients.parquet:0:-: more than one file for table 'patients': "
                      "['patients.csv', 'patients.parquet']")]


def test_one_workbook_with_a_sheet_per_table(tmp_path: Path) -> None:
    reference = read_data_dir(DATA / "good")
    path = tmp_path / "study.xlsx"
    with pd.ExcelWriter(path) as writer:
        for name in TABLES:
            pd.read_csv(DATA / "good" / f"{name}.csv", dtype=str).to_excel(writer, sheet_name=name, index=False)
        pd.DataFrame({"x": [1]}).to_excel(writer, sheet_name="notes", index=False)
    batch = read_workbook(path)
    assert batch.ok, [str(e) for e in batch.errors]
    for name in TABLES:
        pd.testing.assert_frame_equal(batch.tables[name], reference.tables[name], obj=name)
    assert [str(w) for w in batch.warnings] == [
        ("study.xlsx[notes]:0:-: ignored sheet; tables are "
        "['patients', 'labs', 'scans', 'lesions', 'toxicity', 'biomarkers']")]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_writer_output_reads_back_identically(tmp_path: Path, fmt: str) -> None:
    reference = read_data_dir(DATA / "good")
    write_data_dir(reference.tables, tmp_path / fmt, fmt=fmt)
    again = read_data_dir(tmp_path / fmt)
    assert again.ok, [str(e) for e in again.errors]
    for name in TABLES:
        pd.testing.assert_frame_equal(again.tables[name], reference.tables[name], obj=name)


REDCAP_EXPORT = """record_id,redcap_data_access_group,redcap_repeat_instrument,redcap_repeat_instance,age_inf,\
sex,ann_arbor,crp_pre,crp_unit,ldh_pre,scan_day,scan_mod,crs,icans
101,site_a,,,64,1,3,38,2,410,,,2,0
102,site_a,,,57,2,4,2.1,1,190,,,1,1
101,site_a,imaging,1,,,,,,,-12,1,,
101,site_a,imaging,2,,,,,,,28,1,,
"""

REDCAP_MAPPING = """
tables:
  patients:
    where: {redcap_repeat_instrument: ""}
    columns:
      patient_id: record_id
      centre: {field: redcap_data_access_group, values: {site_a: A}}
      age: age_inf
      sex: {field: sex, values: {"1": F, "2": M}}
      stage: ann_arbor
  toxicity:
    where: {redcap_repeat_instrument: ""}
    columns: {patient_id: record_id, centre: {field: redcap_data_access_group, values: {site_a: A}},
              crs_grade: crs, icans_grade: icans}
  labs:
    where: {redcap_repeat_instrument: ""}
    rows:
      - {patient_id: record_id, centre: {field: redcap_data_access_group, values: {site_a: A}},
         day: {value: -5}, analyte: {value: crp}, value: crp_pre,
         unit: {field: crp_unit, values: {"1": mg/dL, "2": mg/L}}}
      - {patient_id: record_id, centre: {field: redcap_data_access_group, values: {site_a: A}},
         day: {value: -5}, analyte: {value: ldh}, value: ldh_pre, unit: {value: U/L}}
  scans:
    where: {redcap_repeat_instrument: imaging}
    columns:
      patient_id: record_id
      centre: {field: redcap_data_access_group, values: {site_a: A}}
      scan_id: redcap_repeat_instance
      day: scan_day
      modality: {field: scan_mod, values: {"1": petct, "2": ct}}
"""


def test_redcap_export_through_mapping(tmp_path: Path) -> None:
    root = write_files(tmp_path, {"export.csv": REDCAP_EXPORT, "mapping.yaml": REDCAP_MAPPING})
    batch = read_redcap(root / "export.csv", root / "mapping.yaml")
    assert batch.ok, [str(e) for e in batch.errors]
    patients = batch.tables["patients"]
    assert patients[["patient_id", "centre", "age", "sex", "stage"]].values.tolist() == [
        ["101", "A", 64.0, "F", 3], ["102", "A", 57.0, "M", 4]]
    labs = batch.tables["labs"]
    # 101: CRP 38 mg/L (code 2) = 3.8 mg/dL; 102: CRP 2.1 mg/dL (code 1); LDH in U/L unchanged
    assert labs[["patient_id", "analyte", "value", "unit"]].values.tolist() == [
        ["101", "crp", pytest.approx(3.8), "mg/dL"], ["101", "ldh", 410.0, "U/L"],
        ["102", "crp", 2.1, "mg/dL"], ["102", "ldh", 190.0, "U/L"]]
    assert batch.tables["scans"][["patient_id", "scan_id", "day"]].values.tolist() == [
        ["101", "1", -12], ["101", "2", 28]]
    assert batch.tables["toxicity"]["crs_grade"].tolist() == [2, 1]


def test_redcap_errors_name_export_line_and_mapping_key(tmp_path: Path) -> None:
    export = REDCAP_EXPORT.replace("102,site_a,,,57,2,4", "102,site_a,,,57,3,4")      # sex code 3 unmapped
    mapping = REDCAP_MAPPING.replace("age: age_inf", "age: age_at_infusion")
    root = write_files(tmp_path, {"export.csv": export, "mapping.yaml": mapping})
    errors = [str(e) for e in read_redcap(root / "export.csv", root / "mapping.yaml").errors]
    assert errors == [                  # sorted by file, then row
        "export.csv:1:age: required column is missing",
        "export.csv:3:sex: '3' is not one of ['F', 'M']",
        "mapping.yaml:0:tables.patients.age: REDCap field 'age_at_infusion' is not in the export",
    ]
