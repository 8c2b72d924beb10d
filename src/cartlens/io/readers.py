"""Read a data directory (CSV, XLSX or Parquet per table) or one workbook into raw tables, then validate.

Malformed files (binary garbage, empty files, wrong encodings, broken quoting, corrupt workbooks) become
``file:0:-: message`` issues; nothing here lets a parser traceback reach the user.
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd

from cartlens.io.batch import ImportBatch
from cartlens.io.validate import Issues, RawTable, validate_raw
from cartlens.model.schema import TABLES

__all__ = ["SUFFIXES", "read_data_dir", "read_table_file", "read_workbook"]

SUFFIXES = (".csv", ".xlsx", ".parquet")


def _decode(name: str, data: bytes, issues: Issues) -> str | None:
    if not data.strip():
        issues.error(name, 0, "-", "file is empty (a header line with the column names is required)")
        return None
    if b"\x00" in data[:65536]:
        issues.error(name, 0, "-", "binary file, not CSV text (save the table as UTF-8 CSV)")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.error(name, 0, "-", f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
                                   "save the table as UTF-8 CSV")
        return None


def _csv_records(name: str, text: str, issues: Issues) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Parse CSV text with the standard library (strict quoting); every record must have as many fields as
    the header.  Returns the frame of stripped strings and the line number where each record starts."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[list[str]] = []
    starts: list[int] = []
    previous_end = 0
    bad = False
    try:
        header = [h.strip() for h in next(reader)]
        previous_end = reader.line_num
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            if not record or not any(cell.strip() for cell in record):
                continue                              # blank line
            if len(record) != len(header):
                issues.error(name, start, "-", f"malformed CSV: expected {len(header)} fields as in the header, "
                                               f"found {len(record)}")
                bad = True
                continue
            records.append([cell.strip() for cell in record])
            starts.append(start)
    except csv.Error as exc:
        issues.error(name, previous_end + 1, "-", f"malformed CSV: {exc}")
        return None
    except StopIteration:
        issues.error(name, 0, "-", "file is empty (a header line with the column names is required)")
        return None
    if bad:
        return None
    frame = pd.DataFrame(records, columns=header, dtype=object) if records else pd.DataFrame(
        {h: pd.Series([], dtype=object) for h in header})
    return frame, np.asarray(starts, dtype=int)


def _read_csv(name: str, data: bytes, issues: Issues) -> RawTable | None:
    text = _decode(name, data, issues)
    if text is None:
        return None
    header = text.splitlines()[0] if text.splitlines() else ""
    if "," not in header and (";" in header or "\t" in header):
        sep = ";" if ";" in header else "tab"
        issues.error(name, 1, "-", f"columns are separated by {sep!r}; cartlens reads comma-separated files")
        return None
    parsed = _csv_records(name, text, issues)
    if parsed is None:
        return None
    frame, rows = parsed
    return RawTable(name.rsplit(".", 1)[0], name, frame, rows)


def _from_frame(table: str, name: str, frame: pd.DataFrame) -> RawTable:
    raw = RawTable.from_frame(table, name, frame)
    frame = raw.frame
    frame.columns = [str(c).strip() for c in frame.columns]
    keep = (frame != "").any(axis=1).to_numpy() if len(frame.columns) else np.zeros(len(frame), bool)
    return RawTable(table, name, frame[keep].reset_index(drop=True), raw.rows[keep])


def _read_excel(name: str, data: bytes, issues: Issues, sheet: str | int = 0) -> pd.DataFrame | None:
    if not data.strip():
        issues.error(name, 0, "-", "file is empty")
        return None
    try:
        return pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=object, engine="openpyxl",
                             keep_default_na=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for corrupt workbooks
        issues.error(name, 0, "-", f"cannot read as an XLSX workbook ({type(exc).__name__})")
        return None


def read_table_file(path: Path, issues: Issues, table: str | None = None) -> RawTable | None:
    """Read one table file (by suffix) into a :class:`RawTable`; problems go to ``issues``."""
    name = path.name
    table = table or path.stem
    try:
        data = path.read_bytes()
    except OSError as exc:
        issues.error(name, 0, "-", f"cannot read file ({exc.strerror})")
        return None
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raw = _read_csv(name, data, issues)
        return None if raw is None else RawTable(table, name, raw.frame, raw.rows)
    if suffix == ".xlsx":
        frame = _read_excel(name, data, issues)
        return None if frame is None else _from_frame(table, name, frame)
    try:
        frame = pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for corrupt files
        issues.error(name, 0, "-", f"cannot read as a Parquet file ({type(exc).__name__})")
        return None
    return _from_frame(table, name, frame)


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def read_data_dir(path: str | Path, *, allow_extra: bool = False, accept_suspicious: bool = False) -> ImportBatch:
    """Read and validate a data directory (data_model.md): one file per table, ``.csv``, ``.xlsx`` or
    ``.parquet`` with the table's name as stem; only ``patients`` is required.

    Parameters
    ----------
    path : str or Path
        The directory.
    allow_extra : bool
        Unknown columns become warnings (and are dropped) instead of errors.
    accept_suspicious : bool
        Implausible lab magnitudes become warnings kept with the value instead of errors.

    Returns
    -------
    ImportBatch
        Every error and warning; ``source_hashes`` holds the SHA-256 of each file read.
    """
    root = Path(path)
    issues = Issues()
    if not root.is_dir():
        issues.error(root.name or str(root), 0, "-", "not a directory")
        return ImportBatch(tables={}, errors=issues.errors)
    raws: dict[str, RawTable] = {}
    hashes: dict[str, str] = {}
    files = sorted(p for p in root.iterdir() if p.is_file() and not p.name.startswith("."))
    for table in TABLES:
        candidates = [p for p in files if p.stem == table and p.suffix.lower() in SUFFIXES]
        if len(candidates) > 1:
            issues.error(candidates[1].name, 0, "-", f"more than one file for table {table!r}: "
                                                     f"{[p.name for p in candidates]}")
            continue
        if candidates:
            raw = read_table_file(candidates[0], issues, table)
            digest = _sha256(candidates[0])
            if digest:
                hashes[candidates[0].name] = digest
            if raw is not None:
                raws[table] = raw
    for extra in files:
        if extra.stem.lower() in TABLES and extra.stem not in TABLES and extra.suffix.lower() in SUFFIXES:
            issues.error(extra.name, 0, "-", f"table file names are lower-case: rename to "
                                             f"{extra.stem.lower()}{extra.suffix.lower()}")
        elif not (extra.stem in TABLES and extra.suffix.lower() in SUFFIXES):
            issues.warn(extra.name, 0, "-", f"ignored: not a table file ({', '.join(TABLES)} with "
                                             f"{'/'.join(SUFFIXES)})")
    return validate_raw(raws, allow_extra=allow_extra, accept_suspicious=accept_suspicious, issues=issues,
                        source_hashes=hashes)


def read_workbook(path: str | Path, *, allow_extra: bool = False, accept_suspicious: bool = False) -> ImportBatch:
    """Read and validate one XLSX workbook whose sheets are named after the tables (``patients``, ``labs``…).

    Row numbers are the spreadsheet rows; messages name ``workbook.xlsx[sheet]``.
    """
    path = Path(path)
    issues = Issues()
    try:
        data = path.read_bytes()
    except OSError as exc:
        issues.error(path.name, 0, "-", f"cannot read file ({exc.strerror})")
        return ImportBatch(tables={}, errors=issues.errors)
    sheets = _read_excel(path.name, data, issues, sheet=None)  # type: ignore[arg-type]
    raws: dict[str, RawTable] = {}
    for sheet, frame in (sheets or {}).items():  # type: ignore[union-attr]
        if str(sheet) in TABLES:
            raws[str(sheet)] = _from_frame(str(sheet), f"{path.name}[{sheet}]", frame)
        else:
            issues.warn(f"{path.name}[{sheet}]", 0, "-", f"ignored sheet; tables are {list(TABLES)}")
    if sheets is None:
        return ImportBatch(tables={}, errors=issues.errors)
    return validate_raw(raws, allow_extra=allow_extra, accept_suspicious=accept_suspicious, issues=issues,
                        source_hashes={path.name: hashlib.sha256(data).hexdigest()})
