"""Body-size normalisers for SUV (lean body mass, ideal body weight, body surface area).

Spec: pet_quantification.md §1.4.  W in kg, H in cm, BMI = W / (H/100)^2.  Sex ``"O"`` (other) or
``"U"`` takes the mean of the male and female values, as the IBSI SUV manual suggests
(oncoray.github.io/suv_computation).

References
----------
* James WPT. Research on obesity. HMSO 1976 (LBM, "128" variant used by PERCIST 1.0:
  Wahl RL et al., J Nucl Med 2009;50 Suppl 1:122S; DICOM SUVType ``LBMJAMES128``).
* Morgan DJ, Bray KM. Clin Pharmacokinet 1994;26:292-307 (DICOM SUVType ``LBM``: 1.10 W - 120 (W/H)^2).
* Janmahasatian S et al. Clin Pharmacokinet 2005;44:1051-65; QIBA FDG-PET/CT profile App. H;
  Tahari AK et al., J Nucl Med 2014;55:1481-4 (DICOM SUVType ``LBMJANMA``).
* Devine BJ. Drug Intell Clin Pharm 1974 (IBW 50/45.5 kg + 2.3 kg/inch; as written in §1.4:
  48.0 + 1.06 (H - 152) male, 45.5 + 0.91 (H - 152) female).
* Du Bois D, Du Bois EF. Arch Intern Med 1916;17:863-71 (BSA = 0.007184 H^0.725 W^0.425, m^2).
* Mosteller RD. N Engl J Med 1987;317:1098 (BSA = sqrt(H W / 3600), m^2).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cartlens.pet.errors import PETInputError

_SEXES = ("M", "F", "O", "U")


def _by_sex(sex: str, male: float, female: float) -> float:
    s = (sex or "").strip().upper()
    if s == "M":
        return male
    if s == "F":
        return female
    if s in ("O", "U"):
        return 0.5 * (male + female)
    raise PETInputError("PatientSex (0010,0040)", f"must be one of {list(_SEXES)} for this normaliser, got {sex!r}")


def lbm_james128_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Lean body mass, James formula as in PERCIST 1.0 (male 1.10 W - 128 (W/H)^2), kg."""
    r = (weight_kg / height_cm) ** 2
    return _by_sex(sex, 1.10 * weight_kg - 128.0 * r, 1.07 * weight_kg - 148.0 * r)


def lbm_morgan_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Lean body mass, DICOM SUVType ``LBM`` (male 1.10 W - 120 (W/H)^2, female 1.07 W - 148 (W/H)^2), kg."""
    r = (weight_kg / height_cm) ** 2
    return _by_sex(sex, 1.10 * weight_kg - 120.0 * r, 1.07 * weight_kg - 148.0 * r)


def lbm_janmahasatian_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Lean body mass, Janmahasatian 2005 (9270 W / (6680 + 216 BMI) male, / (8780 + 244 BMI) female), kg."""
    bmi = weight_kg / (height_cm / 100.0) ** 2
    return _by_sex(sex, 9270.0 * weight_kg / (6680.0 + 216.0 * bmi), 9270.0 * weight_kg / (8780.0 + 244.0 * bmi))


def ibw_kg(weight_kg: float, height_cm: float, sex: str) -> float:
    """Ideal body weight (male 48.0 + 1.06 (H - 152), female 45.5 + 0.91 (H - 152)), kg; not capped at W."""
    return _by_sex(sex, 48.0 + 1.06 * (height_cm - 152.0), 45.5 + 0.91 * (height_cm - 152.0))


def bsa_dubois_m2(weight_kg: float, height_cm: float, sex: str = "O") -> float:
    """Body surface area, Du Bois & Du Bois 1916 (0.007184 H^0.725 W^0.425), m^2."""
    return 0.007184 * height_cm**0.725 * weight_kg**0.425


def bsa_mosteller_m2(weight_kg: float, height_cm: float, sex: str = "O") -> float:
    """Body surface area, Mosteller 1987 (sqrt(H W / 3600)), m^2."""
    return math.sqrt(height_cm * weight_kg / 3600.0)


#: DICOM SUVType (0054,1006) -> normaliser in kg (BSA handled apart: its unit is m^2).
DICOM_SUV_TYPE: dict[str, Callable[[float, float, str], float]] = {
    "LBM": lbm_morgan_kg,
    "LBMJAMES128": lbm_james128_kg,
    "LBMJANMA": lbm_janmahasatian_kg,
    "IBW": ibw_kg,
}

#: cartlens ``suv_type`` names -> normaliser (kg), used to convert SUVbw to another SUV.
SUV_TYPES: dict[str, Callable[[float, float, str], float] | None] = {
    "bw": None,
    "lbm_james": lbm_james128_kg,
    "lbm_janmahasatian": lbm_janmahasatian_kg,
    "ibw": ibw_kg,
    "bsa": bsa_dubois_m2,
}
