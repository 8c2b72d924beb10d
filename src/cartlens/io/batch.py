"""Validation problems located by file, row and column, and the validated import batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ImportBatch", "InputError", "ValidationIssue"]


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One problem of an input file.

    Attributes
    ----------
    file : str
        File name inside the data directory (never a full path), or the table name for in-memory input.
    row : int
        Line number in the file with the header line = 1, so the first data row is 2 (the spreadsheet row number
        in Excel).  0 = the whole file (unreadable, missing).
    column : str
        Canonical column name, or ``"-"`` when the problem is not about one column.
    message : str
        What rule was broken and what was found.
    """

    file: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.row}:{self.column}: {self.message}"


class InputError(ValueError):
    """Invalid input: carries every :class:`ValidationIssue` (one per line in ``str()``)."""

    def __init__(self, issues: Sequence[ValidationIssue]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(map(str, self.issues)))


@dataclass(frozen=True)
class ImportBatch:
    """The result of reading and validating a data directory / workbook / in-memory tables.

    Attributes
    ----------
    tables : dict of str to DataFrame
        Canonical tables (only those present in the input), canonical columns and dtypes
        (``cartlens.model.schema.cast_table``); labs converted to canonical units.  Trustworthy only when
        :attr:`ok`.
    errors, warnings : list of ValidationIssue
        Every problem found (validation never stops at the first).
    source_hashes : dict of str to str
        SHA-256 (hex) of each source file's bytes, by file name.
    source_names : dict of str to str
        File name per table.
    """

    tables: dict[str, pd.DataFrame]
    errors: list[ValidationIssue] = field(default_factory=list)
    warnings: list[ValidationIssue] = field(default_factory=list)
    source_hashes: dict[str, str] = field(default_factory=dict)
    source_names: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no error was found."""
        return not self.errors

    def raise_for_errors(self) -> None:
        """Raise :class:`InputError` with every error when the batch is not :attr:`ok`."""
        if self.errors:
            raise InputError(self.errors)

    def summary(self) -> pd.DataFrame:
        """Rows per table, for people."""
        return pd.DataFrame({"table": list(self.tables), "rows": [len(t) for t in self.tables.values()]})
