"""Input/output shell: read, validate and convert canonical tables (spec data_model.md), write them back.

Public API
----------
read_data_dir(path, *, allow_extra=False, accept_suspicious=False) -> ImportBatch
read_workbook(path, ...) -> ImportBatch           one XLSX with a sheet per table
validate_tables(tables, *, source_names=None, allow_extra=False, accept_suspicious=False) -> ImportBatch
read_redcap(export_csv, mapping_yaml) -> ImportBatch
write_data_dir(tables, path, fmt="csv")
ImportBatch, ValidationIssue, InputError
"""

from __future__ import annotations

from cartlens.io.batch import ImportBatch, InputError, ValidationIssue
from cartlens.io.readers import read_data_dir, read_workbook
from cartlens.io.redcap import read_redcap
from cartlens.io.validate import validate_tables
from cartlens.io.writers import write_data_dir

__all__ = [
           "ImportBatch",
           "InputError",
           "ValidationIssue",
           "read_data_dir",
           "read_redcap",
           "read_workbook",
           "validate_tables",
           "write_data_dir",
]
