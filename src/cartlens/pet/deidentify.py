"""De-identification of PET DICOM headers (DICOM PS3.15 Annex E, Basic Application Level
Confidentiality Profile) with the options that SUV needs.

Options applied (PS3.15 Table E.1-1 column names):

* **Basic profile**: identifying attributes below are removed (X) or emptied (Z); UIDs replaced (U)
  by a keyed hash, consistently across a study when the same ``uid_key`` is used.
* **Retain Patient Characteristics Option**: PatientSex, PatientSize, PatientWeight kept (SUV, §1.4).
* **Retain Longitudinal Temporal Information with Modified Dates Option**: every DA/DT (also inside
  sequences and the GE private scan datetime) is shifted by the same whole number of days so that
  the anchor date becomes 2000-01-01; times of day are untouched, so every interval the SUV needs
  (injection -> scan, including midnight crossings) is preserved exactly and dates become relative.
* **Retain Safe Private Option**: only the private elements SUV needs are kept (Philips
  (7053,xx00)/(7053,xx09), GE (0009,xx0D), with their creators); all other private elements go.

Web/privacy rule: web_and_security.md "Privacy".  Pure function on a pydicom Dataset (no I/O).
"""

from __future__ import annotations

import copy
import hashlib
from datetime import date, timedelta
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

#: PS3.15 Table E.1-1, action X (remove) — identifying attributes found in PET/CT headers.
REMOVE = (
    "PatientAddress", "OtherPatientIDs", "OtherPatientIDsSequence", "OtherPatientNames", "PatientBirthName",
    "PatientMotherBirthName", "MedicalRecordLocator", "PatientTelephoneNumbers", "EthnicGroup", "Occupation",
    "AdditionalPatientHistory", "PatientComments", "PatientAge", "PatientBirthTime", "MilitaryRank",
    "BranchOfService", "CountryOfResidence", "RegionOfResidence", "PatientReligiousPreference",
    "InstitutionName", "InstitutionAddress", "InstitutionalDepartmentName", "InstitutionCodeSequence",
    "ReferringPhysicianAddress", "ReferringPhysicianTelephoneNumbers", "PerformingPhysicianName",
    "OperatorsName", "PhysiciansOfRecord", "NameOfPhysiciansReadingStudy", "RequestingPhysician",
    "StationName", "DeviceSerialNumber", "StudyDescription", "SeriesDescription", "ProtocolName",
    "RequestAttributesSequence", "ImageComments", "DerivationDescription", "PerformedProcedureStepDescription",
    "PerformedProcedureStepID", "ScheduledProcedureStepID", "AdmissionID", "IssuerOfPatientID",
    "PatientState", "PregnancyStatus", "MedicalAlerts", "Allergies", "SmokingStatus", "ResponsiblePerson",
    "ResponsibleOrganization", "PatientInsurancePlanCodeSequence", "CurrentPatientLocation",
    "ReferencedPatientSequence", "ReferencedStudySequence", "RequestedProcedureDescription",
    "PatientBirthDate",
)
#: Action Z (zero length, type 2) / D (dummy) — kept present but empty or replaced by the pseudonym.
EMPTY = ("PatientName", "ReferringPhysicianName", "AccessionNumber", "StudyID", "ContentCreatorName")
#: Private elements SUV needs: (group, creator, element offsets kept).
SAFE_PRIVATE = {0x7053: ("Philips PET Private Group", (0x00, 0x09)), 0x0009: ("GEMS_PETD_01", (0x0D,))}
BASE_DATE = date(2000, 1, 1)


def pseudo_uid(uid: str, key: bytes) -> str:
    """Replace a UID by ``2.25.<decimal of a keyed SHA-256>`` (PS3.5 B.2 UUID-derived root, < 64 chars)."""
    digest = hashlib.sha256(key + uid.encode("ascii", "replace")).digest()
    return "2.25." + str(int.from_bytes(digest[:15], "big"))


def _shift_da(text: str, days: int) -> str:
    y, m, d = int(text[:4]), int(text[4:6]), int(text[6:8])
    return (date(y, m, d) + timedelta(days=days)).strftime("%Y%m%d")


def _shift(value: Any, vr: str, days: int) -> Any:
    text = str(value).strip()
    if len(text) < 8 or not text[:8].isdigit():
        return value
    return _shift_da(text[:8], days) + (text[8:] if vr == "DT" else "")


def _safe_private(ds: Dataset, elem: DataElement) -> bool:
    group, element = elem.tag.group, elem.tag.element
    if group not in SAFE_PRIVATE:
        return False
    creator, offsets = SAFE_PRIVATE[group]
    if element < 0x100:                                   # a private creator element
        return str(elem.value).strip() == creator
    block = element >> 8
    creator_tag = (group << 16) | block
    if creator_tag in ds and str(ds[creator_tag].value).strip() != creator:
        return False
    return (element & 0xFF) in offsets


def deidentify(ds: Dataset, *, pseudonym: str, uid_key: bytes, anchor: date) -> Dataset:
    """A de-identified copy of ``ds`` (PS3.15 basic profile + the options listed in the module doc).

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        One image (not modified).
    pseudonym : str
        Study pseudonym written to PatientName and PatientID (data_model.md: patient_id).
    uid_key : bytes
        Secret key for UID replacement; use the same key for every file of a study.
    anchor : datetime.date
        The date that becomes 2000-01-01 (e.g. the baseline study date); the same for a whole study.
    """
    out = copy.deepcopy(ds)
    days = (BASE_DATE - anchor).days
    for keyword in REMOVE:
        if keyword in out:
            delattr(out, keyword)
    for keyword in EMPTY:
        if keyword in out:
            out[keyword].value = ""

    def visit(dataset: Dataset, elem: DataElement) -> None:
        if elem.tag.is_private:
            if not _safe_private(dataset, elem):
                del dataset[elem.tag]
            elif elem.VR in ("DT", "DA") or (elem.tag.group == 0x0009 and (elem.tag.element & 0xFF) == 0x0D):
                elem.value = _shift(elem.value.decode() if isinstance(elem.value, bytes) else elem.value,
                                    "DT", days)
            return
        if elem.VR == "UI" and elem.value and elem.keyword not in ("SOPClassUID", "TransferSyntaxUID",
                                                                   "ReferencedSOPClassUID"):
            elem.value = pseudo_uid(str(elem.value), uid_key)
        elif elem.VR in ("DA", "DT") and elem.value:
            elem.value = _shift(elem.value, elem.VR, days)

    out.walk(visit)
    out.PatientName = pseudonym
    out.PatientID = pseudonym
    out.PatientIdentityRemoved = "YES"
    out.DeidentificationMethod = "PS3.15 E1 basic; patient chars; modified dates; safe private"
    meta = getattr(out, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    return out


def header_summary(ds: Dataset, conversion: Any, *, n_slices: int) -> dict[str, Any]:
    """Non-identifying summary of a PET series for results: no names, IDs, UIDs, dates or clock times.

    Keeps scanner make/model, units and the SUV inputs actually used (body values, dose, half-life,
    uptake time in seconds), as the Retain Patient Characteristics option allows.
    """
    return {
        "source": "dicom", "modality": str(ds.get("Modality", "")), "manufacturer": str(ds.get("Manufacturer", "")),
        "model": str(ds.get("ManufacturerModelName", "")), "rows": int(ds.Rows), "columns": int(ds.Columns),
        "n_slices": n_slices, "sex": str(ds.get("PatientSex", "") or ""),
        "radiopharmaceutical": str(ds.RadiopharmaceuticalInformationSequence[0].get("Radiopharmaceutical", ""))
        if ds.get("RadiopharmaceuticalInformationSequence") else "",
        **conversion.to_dict(),
    }
