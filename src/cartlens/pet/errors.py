"""Exceptions of the PET area.

``PETInputError`` is one unusable input (a DICOM series, a NIfTI file, an argument); it names the
field (DICOM keyword and tag, or parameter) and what was found, never a patient value that could
identify a person.  The CLI maps it to exit status 2.
"""

from __future__ import annotations


class PETInputError(ValueError):
    """An input that cannot be quantified, with the field that makes it so.

    Parameters
    ----------
    field : str
        DICOM keyword with its tag, e.g. ``"Units (0054,1001)"``, a file name, or a parameter name.
    message : str
        The rule that failed and the value found.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
