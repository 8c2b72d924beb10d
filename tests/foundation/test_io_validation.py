"""Every validation rule of data_model.md, located by file:row:column (row = line number, header = 1)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cartlens.io import read_data_dir, validate_tables

from .helpers import DATA, write_files

# tests/foundation/data/errors: each expected problem worked out by reading the files by hand.
EXPECTED_ERRORS = [
    ("patients.csv", 1, "Extra", "unknown column"),                       # unknown column, no --allow-extra
    ("patients.csv", 2, "mtv_method", "required with mtv_ml"),             # mtv_ml=50 without method
    ("patients.csv", 2, "pfs_event", "pfs_event given without pfs_days"),  # event without time
    ("patients.csv", 3, "histology", "'XYZ' is not one of"),               # unknown enum
    ("patients.csv", 3, "stage", "7 is out of range"),                     # stage 1-4
    ("patients.csv", 3, "patient_id", "duplicate key"),                    # P001 twice
    ("patients.csv", 4, "sex", "'Q' is not one of"),
    ("patients.csv", 4, "age", "150 is out of range"),                     # age 18-100
    ("labs.csv", 2, "value", "did you mean mg/L"),                         # CRP 45 mg/dL
    ("labs.csv", 3, "value", "did you mean g/L"),                          # Hb 85 g/dL
    ("labs.csv", 4, "value", "did you mean /uL"),                          # plt 175000 10^9/L
    ("labs.csv", 5, "unit", "'mg/dL' is not a unit for ldh"),              # wrong unit
    ("labs.csv", 6, "analyte", "'alb' is not one of"),
    ("labs.csv", 6, "patient_id", "P009 is not in patients.csv"),          # dangling patient
    ("labs.csv", 7, "value", "'abc' is not a number"),
    ("scans.csv", 3, "modality", "'mri' is not one of"),
    ("lesions.csv", 2, "ldi_cm", "-3.2 is out of range"),                  # negative size
    ("lesions.csv", 3, "sdi_cm", "2.5 cm must not exceed ldi_cm (2 cm)"),  # SDi > LDi
    ("lesions.csv", 3, "role", "required at the baseline scan 'S0'"),
    ("lesions.csv", 4, "scan_id", "scan_id=S9 is not in scans.csv"),       # dangling scan reference
    ("lesions.csv", 5, "ldi_cm", "state 'measured' needs ldi_cm"),
    ("lesions.csv", 5, "sdi_cm", "state 'measured' needs sdi_cm"),
    ("lesions.csv", 5, "role", "more than one baseline role"),             # target at S0, nontarget at S1
    ("toxicity.csv", 2, "crs_grade", "6 is out of range"),                 # grade 0-5
    ("biomarkers.csv", 1, "marker", "required column is missing"),         # missing column
]


def test_every_error_is_listed_with_file_row_column() -> None:
    batch = read_data_dir(DATA / "errors")
    assert not batch.ok
    found = [(e.file, e.row, e.column) for e in batch.errors]
    assert found == [(f, r, c) for f, r, c, _ in EXPECTED_ERRORS]
    for issue, (_, _, _, fragment) in zip(batch.errors, EXPECTED_ERRORS):
        assert fragment in issue.message
        assert str(issue) == f"{issue.file}:{issue.row}:{issue.column}: {issue.message}"


def test_valid_directory_converts_units() -> None:
    batch = read_data_dir(DATA / "good")
    assert batch.ok, [str(e) for e in batch.errors]
    labs = batch.tables["labs"].set_index("analyte")
    # by hand: CRP 45 mg/L = 4.5 mg/dL, ULN 5 mg/L = 0.5 mg/dL; Hb 85 g/L = 8.5 g/dL; plt 175000/uL = 175 x10^9/L;
    # creatinine 88.4 umol/L = 1.0 mg/dL; LDH "<100" -> 100 U/L censored "<"
    assert labs.loc["crp", "value"] == pytest.approx(4.5) and labs.loc["crp", "uln"] == pytest.approx(0.5)
    assert labs.loc["crp", "unit"] == "mg/dL"
    assert labs.loc["hb", "value"] == pytest.approx(8.5)
    assert labs.loc["plt", "value"] == pytest.approx(175.0) and labs.loc["plt", "unit"] == "10^9/L"
    assert labs.loc["creatinine", "value"] == pytest.approx(1.0)
    assert (labs.loc["ldh", "value"], labs.loc["ldh", "censored"]) == (100.0, "<")
    assert set(batch.source_hashes) == {"patients.csv", "labs.csv", "scans.csv", "lesions.csv", "toxicity.csv"}


def test_accept_suspicious_keeps_value_with_warning(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {
        "patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n",
        "labs.csv": "patient_id,centre,day,analyte,value,unit\nP1,A,-5,crp,45,mg/dL\n",
    })
    assert [str(e) for e in read_data_dir(root).errors] == [
        ("labs.csv:2:value: 45 mg/dL is implausible for crp (plausible 0-40 mg/dL); did you mean mg/L "
        "(= 4.5 mg/dL)?; use --accept-suspicious to keep it")]
    batch = read_data_dir(root, accept_suspicious=True)
    assert batch.ok
    assert [(w.file, w.row, w.column) for w in batch.warnings] == [("labs.csv", 2, "value")]
    row = batch.tables["labs"].iloc[0]
    assert row["value"] == 45.0 and "did you mean mg/L" in row["warning"]


def test_allow_extra_turns_unknown_columns_into_warnings(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre,age,stage,Age\nP1,A,50,2,50\n"})
    strict = read_data_dir(root)
    assert [str(e) for e in strict.errors] == [
        "patients.csv:1:Age: unknown column (did you mean 'age'?); use --allow-extra to ignore it"]
    lax = read_data_dir(root, allow_extra=True)
    assert lax.ok and [w.column for w in lax.warnings] == ["Age"]
    assert "Age" not in lax.tables["patients"].columns


def test_missing_required_columns_and_patients_file(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre\nP1,A\n",
                                        "labs.csv": "patient_id,centre,day,analyte,value\nP1,A,1,crp,2\n"})
    assert [str(e) for e in read_data_dir(root).errors] == [
        "patients.csv:1:age: required column is missing",
        "patients.csv:1:stage: required column is missing",
        "labs.csv:1:unit: required column is missing",
    ]
    only_labs = write_files(tmp_path / "e", {"labs.csv": "patient_id,centre,day,analyte,value,unit\n"})
    assert [str(e) for e in read_data_dir(only_labs).errors] == [
        "patients.csv:0:-: the patients table is required (patients.csv, .xlsx or .parquet)"]


def test_required_value_missing_and_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n\n,A,60,\n"})
    assert [str(e) for e in read_data_dir(root).errors] == [
        "patients.csv:4:patient_id: required value is missing",
        "patients.csv:4:stage: required value is missing",
    ]


def test_value_with_unit_and_censoring_inside(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {
        "patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n",
        "labs.csv": "patient_id,centre,day,analyte,value,unit\nP1,A,-5,crp,45 mg/L,\nP1,A,-4,crp,<5 mg/L,\n"
                    "P1,A,-3,crp,4 mg/L,mg/dL\n",
    })
    batch = read_data_dir(root)
    assert [str(e) for e in batch.errors] == ["labs.csv:4:unit: 'mg/dL' disagrees with 'mg/L' in value"]
    labs = batch.tables["labs"]
    assert list(labs["value"][:2]) == pytest.approx([4.5, 0.5])      # 45 mg/L, 5 mg/L -> mg/dL
    assert list(labs["censored"][:2]) == [None, "<"]


def test_validate_tables_in_memory_matches_file_path() -> None:
    from_files = read_data_dir(DATA / "good")
    frames = {name: pd.read_csv(DATA / "good" / f"{name}.csv") for name in from_files.tables}
    in_memory = validate_tables(frames)
    assert in_memory.ok
    for name, table in from_files.tables.items():
        pd.testing.assert_frame_equal(in_memory.tables[name], table)


def test_validate_tables_reports_rows_as_file_rows() -> None:
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "centre": ["A", "A"], "age": [50, 17], "stage": [2, 2]})
    batch = validate_tables({"patients": frame}, source_names={"patients": "upload.xlsx"})
    assert [str(e) for e in batch.errors] == ["upload.xlsx:3:age: 17 is out of range (allowed 18-100 years)"]


def test_nodal_flag_disagreeing_with_site_is_a_warning(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {
        "patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n",
        "scans.csv": "patient_id,centre,scan_id,day,modality\nP1,A,S0,-3,petct\n",
        "lesions.csv": "patient_id,centre,scan_id,lesion_id,site,nodal,role,state,ldi_cm,sdi_cm\n"
                       "P1,A,S0,L1,liver,true,target,measured,2,1\nP1,A,S0,L2,spleen,true,nontarget,absent,,\n",
    })
    batch = read_data_dir(root)
    assert batch.ok
    assert [(w.row, w.column) for w in batch.warnings] == [(2, "nodal")]   # spleen may be either


def test_biomarker_flag_and_zero_uln(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {
        "patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n",
        "labs.csv": "patient_id,centre,day,analyte,value,unit,uln\nP1,A,-5,ldh,300,U/L,0\n",
        "biomarkers.csv": "patient_id,centre,day,marker,value,unit\nP1,A,28,ctdna_detectable,2,\n"
                          "P1,A,28,cart_peak,35.5,cells/uL\nP1,A,28,il6,12,pg/mL\n",
    })
    assert [str(e) for e in read_data_dir(root).errors] == [
        "labs.csv:2:uln: an upper limit of normal of 0 is impossible",
        "biomarkers.csv:2:value: ctdna_detectable must be 0 or 1, got 2",
    ]


def test_calendar_dates_become_days_and_are_not_kept(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {
        "patients.csv": "patient_id,centre,age,stage,infusion_date\nP1,A,50,2,2024-03-01\nP2,A,60,3,\n",
        "labs.csv": "patient_id,centre,date,analyte,value,unit\nP1,A,2024-02-25,ldh,300,U/L\n"
                    "P1,A,2024-03-08,crp,2,mg/dL\n",
        "scans.csv": "patient_id,centre,scan_id,day,date,modality\nP1,A,S0,-5,2024-02-25,petct\n"
                     "P1,A,S1,30,2024-04-01,petct\nP2,A,S0,-3,2024-02-20,petct\nP1,A,S2,,2024-13-01,ct\n",
    })
    batch = read_data_dir(root)
    # by hand: 2024 is a leap year; 25 Feb -> 1 Mar = 5 days (25,26,27,28,29 Feb) so day -5; 8 Mar = day 7;
    # 1 Apr = 31 days after 1 Mar, so the stated day 30 disagrees
    assert [str(e) for e in batch.errors] == [
        "scans.csv:3:day: day 30 disagrees with date (day 31)",
        "scans.csv:4:date: a date needs the patient's infusion_date in patients",
        "scans.csv:5:date: '2024-13-01' is not a date (YYYY-MM-DD)",
        "scans.csv:5:day: required value is missing",
    ]
    assert batch.tables["labs"][["analyte", "day"]].values.tolist() == [["ldh", -5], ["crp", 7]]
    assert "date" not in batch.tables["labs"].columns
    assert "infusion_date" not in batch.tables["patients"].columns


def test_missing_markers_are_missing_in_every_format(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre,age,stage,ecog,cohort\n"
                                                        "P1,A,50,2,NA,#N/A\nP2,A,60,NULL,,x\n"})
    batch = read_data_dir(root)
    assert [str(e) for e in batch.errors] == ["patients.csv:3:stage: required value is missing"]
    assert batch.tables["patients"]["ecog"].isna().all() and batch.tables["patients"]["cohort"][0] is None


def test_extranodal_sites_are_normalised(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"patients.csv": "patient_id,centre,age,stage,extranodal_sites\n"
                                                        "P1,A,50,2,Liver; BONE_MARROW\nP2,A,60,3,\nP3,A,70,4,axillary\n"})
    batch = read_data_dir(root)
    assert [str(e) for e in batch.errors] == [("patients.csv:4:extranodal_sites: 'axillary' is a nodal site, "
                                              "not extranodal")]
    assert batch.tables["patients"]["extranodal_sites"].tolist()[:2] == ["liver;bone_marrow", None]


def test_table_file_names_are_lower_case(tmp_path: Path) -> None:
    root = write_files(tmp_path / "d", {"Patients.csv": "patient_id,centre,age,stage\nP1,A,50,2\n"})
    assert [str(e) for e in read_data_dir(root).errors] == [
        "Patients.csv:0:-: table file names are lower-case: rename to patients.csv"]
