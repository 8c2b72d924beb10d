"""Common model of the response engine: exact units, codes, the columnar cohort, nadirs and sums.

Source: response_criteria.md §1 (units, LDi/SDi/PPD/SPD/SLD, measurement states, nadir), §8 (evaluation
order, missing data A29); data_model.md (scans and lesions tables).

Why not an existing library: no maintained Python package implements Lugano/Cheson/RECIL/LYRIC (the
RECIST tools handle one criterion on per-lesion objects). The engine is columnar so that 100 000 patients
run without per-lesion Python objects (performance.md, response_engine row): every lesion x scan value
lives in an ``[n_lesions, n_slots]`` integer matrix, every patient x scan value in ``[n_patients, n_slots]``.

Exact arithmetic: diameters are stored as integers in hundredths of a millimetre (1 cm = 1000 units), so
PPDs and sums are exact integers and every threshold is an integer cross-multiplication (e.g. "SPD fell by
>= 50 %" is ``2 * spd <= spd_bl``). Floats are used only for reported percentages.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

UNITS_PER_CM = 1000                       # integer hundredths of a millimetre
BIG = np.iinfo(np.int64).max // 8         # "no value yet" sentinel for running minima

# --- codes ------------------------------------------------------------------------------------------
STATES = ("measured", "too_small", "absent", "not_evaluable")
MEASURED, TOO_SMALL, ABSENT, NOT_EVALUABLE, MISSING = 0, 1, 2, 3, -1
ROLES = ("target", "nontarget")
TARGET, NONTARGET, NEW = 0, 1, 2
UPTAKES = ("decreased", "unchanged", "increased")
DECREASED, UNCHANGED, INCREASED = 0, 1, 2
ATTRIBUTIONS = ("lymphoma", "equivocal", "not_lymphoma")
LYMPHOMA, EQUIVOCAL, NOT_LYMPHOMA = 0, 1, 2
MARROWS = ("not_involved", "reactive", "suspected", "involved")
M_NOT, M_REACTIVE, M_SUSPECTED, M_INVOLVED = 0, 1, 2, 3
NONTARGETS = ("absent", "present", "unequivocal_progression")
NT_ABSENT, NT_PRESENT, NT_PROGRESSION = 0, 1, 2
DS_X = 0                                  # Deauville X; 1-5 as such; -1 = not given

# Categories (code -> label); higher is not "worse", use RANK for ordering.
CATEGORIES = ("NE", "CR", "PR", "MR", "SD", "IR1", "IR2a", "IR2b", "IR3", "PD")
NE_, CR, PR, MR, SD, IR1, IR2A, IR2B, IR3, PD = range(10)
PET_CATEGORIES = (None, "CMR", "PMR", "NMR", "PMD")
P_NONE, CMR, PMR, NMR, PMD_CAT = range(5)
CT_CATEGORIES = ("NE", "CR", "PR", "SD", "PD")

# PD reason bits (§7). REGROWTH is a flag, not a reason.
REASONS = ("TL", "NL", "NTL", "PMD", "SPLEEN", "BM", "IR1", "IR2a", "IR2b", "IR3")
R_TL, R_NL, R_NTL, R_PMD, R_SPLEEN, R_BM = (1 << i for i in range(6))
REASON_ORDER = ("BM", "NL", "NTL", "PMD", "SPLEEN", "TL")  # reasons are reported sorted

RULE_IDS = (
    "L-TGT", "L-CT-CR", "L-CT-PR", "L-CT-SD", "L-CT-PD", "L-PD-LES", "L-PD-NEW", "L-PD-NTL", "L-PD-SPL",
    "L-PD-BM", "L-PET-CMR", "L-PET-PMR", "L-PET-NMR", "L-PET-PMD", "L-COMB",
    "C-TGT", "C-PET", "C-CR", "C-PR", "C-SD", "C-PD-NEW", "C-PD-SPD", "C-PD-NODE", "C-PD-SMALL", "C-PD-LD",
    "C-PD-ORG", "C-PD-NTL", "C-PD-BM",
    "R-TGT", "R-CR-CT", "R-CR-PET", "R-PR", "R-MR", "R-SD", "R-PD-SLD", "R-PD-SMALLN", "R-PD-NEW",
    "Y-IR1", "Y-IR2a", "Y-IR2b", "Y-IR3", "Y-PD", "Y-CONF", "T-12W",
)
RULE = {rule: np.int64(1) << np.int64(i) for i, rule in enumerate(RULE_IDS)}

FLAG_NAMES = (
    "post_PD", "prior_CMR_metabolic_status_unknown", "equivocal_watch", "NE:target_not_evaluable",
    "REGROWTH", "ct_pet_discordant", "clinical_deterioration_missing", "pd_dated_to_first_ir",
    "ir_confirmed_later", "uptake_missing", "deauville_missing", "partial_sum_pd", "NE:no_baseline",
    "pet_not_evaluable", "spleen_missing", "NE:no_pet", "ir_pending", "ir_resolved",
    "baseline_older_than_30_days",
)
# T-FU / T-BL (response_criteria.md §6): nominal day and default window of each protocol follow-up.
TIMEPOINTS = {"FU1": (30, 21, 45), "FU2": (90, 75, 120)}
BASELINE_MAX_AGE_DAYS = 30
FLAG = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}

LIVER_SPLEEN_SITES = ("liver", "spleen")


class ResponseInputError(ValueError):
    """Bad engine input; every problem is located as ``table:row:column: message`` (row = CSV line)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


def cm(value: Decimal | str | int) -> int:
    """A length in cm as integer hundredths of a millimetre: ``cm("1.5") == 1500``."""
    units = Decimal(str(value)) * UNITS_PER_CM
    if units != units.to_integral_value():
        raise ValueError(f"{value} cm is finer than 0.01 mm")
    return int(units)


def to_units(values: pd.Series, *, table: str, column: str, problems: list[str]) -> np.ndarray:
    """Lengths in cm -> int64 hundredths of a mm; -1 where missing. Finer than 0.01 mm or < 0 is an error."""
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    raw_missing = values.isna().to_numpy()
    scaled = x * UNITS_PER_CM
    rounded = np.rint(scaled)
    bad_text = np.isnan(x) & ~raw_missing
    inexact = ~np.isnan(x) & (np.abs(scaled - rounded) > 1e-6 * np.maximum(1.0, np.abs(scaled)))
    negative = ~np.isnan(x) & (x < 0)
    for mask, message in ((bad_text, "is not a number"), (inexact, "has more precision than 0.01 mm"),
                          (negative, "must not be negative")):
        for pos in np.flatnonzero(mask)[:20]:
            problems.append(f"{table}:{_row(values, pos)}:{column}: {_show(values.iloc[pos])} {message}")
    out = np.where(np.isnan(x), -1, rounded).astype(np.int64)
    return out


def _show(value: object) -> str:
    """A value for a message: quoted text, plain numbers (no numpy repr)."""
    return repr(value) if isinstance(value, str) else str(value)


def _row(series: pd.Series, pos: int) -> int:
    """CSV line of a row (header = line 1) when the index is the default RangeIndex."""
    label = series.index[pos]
    return int(label) + 2 if isinstance(label, (int, np.integer)) else pos + 2


def _by_unique(values: pd.Series, translate: dict[str, int], *, table: str, column: str, expected: str,
               problems: list[str]) -> np.ndarray:
    """Map values through ``translate`` (keys: normalised text) working on the distinct values only, so
    that a million rows cost one hash pass. Missing/blank -> -1; anything else unknown is an error."""
    raw_codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table_codes = np.full(len(uniques) + 1, -1, dtype=np.int8)      # last entry: missing
    for i, value in enumerate(uniques):
        text = str(value).strip()
        if isinstance(value, (bool, np.bool_)):
            text = "true" if value else "false"
        elif isinstance(value, (float, np.floating)) and float(value).is_integer():
            text = str(int(value))
        key = text.lower()
        if key in translate:
            table_codes[i] = translate[key]
        elif key in ("", "nan", "none", "null"):
            table_codes[i] = -1
        else:
            table_codes[i] = -2
    out = table_codes[np.where(raw_codes < 0, len(uniques), raw_codes)]
    for pos in np.flatnonzero(out == -2)[:20]:
        problems.append(f"{table}:{_row(values, pos)}:{column}: {_show(values.iloc[pos])} is not one of "
                        f"{expected}")
    out[out == -2] = -1
    return out


def codes(values: pd.Series, categories: tuple[str, ...], *, table: str, column: str,
          problems: list[str]) -> np.ndarray:
    """Enum strings -> int8 codes in the order of ``categories``; -1 where missing; unknown is an error."""
    return _by_unique(values, {c: i for i, c in enumerate(categories)}, table=table, column=column,
                      expected=str(list(categories)), problems=problems)


BOOL_TEXT = {"true": 1, "1": 1, "yes": 1, "y": 1, "t": 1, "false": 0, "0": 0, "no": 0, "n": 0, "f": 0}


def bools(values: pd.Series, *, table: str, column: str, problems: list[str]) -> np.ndarray:
    """true/false, 1/0, yes/no -> int8 1/0; -1 where missing."""
    if values.dtype == bool:
        return values.to_numpy().astype(np.int8)
    return _by_unique(values, BOOL_TEXT, table=table, column=column, expected="true/false",
                      problems=problems)


def deauville_codes(values: pd.Series, *, problems: list[str]) -> np.ndarray:
    """Deauville '1'-'5' or 'X' -> 1-5 / 0; -1 where missing."""
    return _by_unique(values, {"x": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}, table="lesions",
                      column="deauville", expected="1-5 or X", problems=problems)


@dataclass(frozen=True, slots=True)
class Cohort:
    """Columnar view of scans and lesions: slot 0 = baseline, slots 1.. = follow-ups in day order.

    Patient x slot arrays have shape ``[P, S]``; lesion x slot arrays ``[N, S]``. Lengths are int64
    hundredths of a millimetre, -1 where not given. ``day`` is relative to infusion.
    """

    patient_id: np.ndarray            # [P] object
    centre: np.ndarray                # [P] object
    has_baseline: np.ndarray          # [P] bool
    scan_exists: np.ndarray           # [P, S] bool
    scan_id: np.ndarray               # [P, S] object (None where no scan)
    day: np.ndarray                   # [P, S] int64 (days from infusion)
    petct: np.ndarray                 # [P, S] bool
    spleen: np.ndarray                # [P, S] int64 units, -1 missing
    marrow: np.ndarray                # [P, S] int8 code, -1 missing
    nontarget: np.ndarray             # [P, S] int8 code, -1 missing
    deterioration: np.ndarray         # [P, S] int8 1/0/-1
    liver_suv: np.ndarray             # [P, S] float (nan missing)
    mbp_suv: np.ndarray               # [P, S] float
    pat: np.ndarray                   # [N] patient index of each lesion (sorted)
    lesion_id: np.ndarray             # [N] object
    role: np.ndarray                  # [N] TARGET / NONTARGET / NEW
    nodal: np.ndarray                 # [N] bool
    liver_spleen: np.ndarray          # [N] bool (hepatic or splenic nodule)
    site: np.ndarray                  # [N] object
    state: np.ndarray                 # [N, S] int8 (MISSING = no row)
    ldi: np.ndarray                   # [N, S] int64 units (-1 missing)
    sdi: np.ndarray                   # [N, S] int64 units
    ds: np.ndarray                    # [N, S] int8 (-1 missing, 0 = X)
    uptake: np.ndarray                # [N, S] int8
    attribution: np.ndarray           # [N, S] int8 (missing -> lymphoma, data_model.md default)
    biopsy: np.ndarray                # [N, S] bool
    suvmax: np.ndarray                # [N, S] float

    @property
    def n_patients(self) -> int:
        return len(self.patient_id)

    @property
    def n_slots(self) -> int:
        return self.scan_exists.shape[1]

    def by_patient_any(self, mask: np.ndarray) -> np.ndarray:
        """[N, S] bool -> [P, S] bool: does any lesion of the patient meet ``mask`` at that slot."""
        return self._reduce(np.logical_or, mask.astype(bool, copy=False), False)

    def by_patient_sum(self, values: np.ndarray) -> np.ndarray:
        """[N, S] int -> [P, S] int64 exact sums per patient."""
        return self._reduce(np.add, values.astype(np.int64, copy=False), 0)

    def _reduce(self, ufunc: np.ufunc, values: np.ndarray, empty: object) -> np.ndarray:
        # Lesions are sorted by patient: one reduceat over the segment starts of patients with lesions.
        P, S = self.n_patients, self.n_slots
        out = np.full((P, S), empty, dtype=values.dtype)
        if len(self.pat):
            starts = np.flatnonzero(np.r_[True, self.pat[1:] != self.pat[:-1]])
            out[self.pat[starts]] = ufunc.reduceat(values, starts, axis=0)
        return out


def sizes(cohort: Cohort, *, too_small_ldi: int, too_small_sdi: int) -> tuple[np.ndarray, np.ndarray]:
    """LDi, SDi per lesion and slot under the state conventions of §1; -1 where unknown.

    ``too_small`` -> (too_small_ldi, too_small_sdi); ``absent`` -> 0 x 0 (Lugano/Cheson/LYRIC use
    0.5 x 0.5 cm; RECIL 0.5 cm LDi, A20).
    """
    ldi = np.where(cohort.state == MEASURED, cohort.ldi, -1)
    sdi = np.where(cohort.state == MEASURED, cohort.sdi, -1)
    ldi = np.where(cohort.state == TOO_SMALL, too_small_ldi, ldi)
    sdi = np.where(cohort.state == TOO_SMALL, too_small_sdi, sdi)
    ldi = np.where(cohort.state == ABSENT, 0, ldi)
    sdi = np.where(cohort.state == ABSENT, 0, sdi)
    return ldi, sdi


def nadir_before(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Running minimum over the *earlier* slots (baseline included), BIG where none is known.

    Source: response_criteria.md §1 "Nadir: the smallest value seen at BL or any earlier follow-up".
    """
    masked = np.where(valid, values, BIG)
    running = np.minimum.accumulate(masked, axis=1)
    out = np.full_like(running, BIG)
    out[:, 1:] = running[:, :-1]
    return out


def earlier_any(mask: np.ndarray) -> np.ndarray:
    """[., S] bool: was ``mask`` true at any earlier slot (strictly before)."""
    running = np.logical_or.accumulate(mask, axis=1)
    out = np.zeros_like(running)
    out[:, 1:] = running[:, :-1]
    return out


def later_any(mask: np.ndarray) -> np.ndarray:
    """[., S] bool: is ``mask`` true at any later slot (strictly after)."""
    running = np.logical_or.accumulate(mask[:, ::-1], axis=1)[:, ::-1]
    out = np.zeros_like(running)
    out[:, :-1] = running[:, 1:]
    return out


def reached(lhs: np.ndarray, rhs: np.ndarray | int, inclusive: bool) -> np.ndarray:
    """``lhs >= rhs`` (inclusive, A2 default) or ``lhs > rhs``."""
    return lhs >= rhs if inclusive else lhs > rhs


def pct_change(now: np.ndarray, ref: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Reported % change (float, for display only); nan where undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (now - ref).astype(np.float64) * 100.0 / ref.astype(np.float64)
    return np.where(ok & (ref > 0), out, np.nan)


@dataclass(frozen=True, slots=True)
class Grades:
    """One criterion's verdicts for every patient and slot (codes of CATEGORIES, bit sets of REASONS,
    RULE_IDS and FLAG_NAMES). ``ct``/``pet`` are Lugano's sub-responses (CT_CATEGORIES / PET_CATEGORIES
    codes), zeros elsewhere."""

    category: np.ndarray      # [P, S] int8
    reasons: np.ndarray       # [P, S] int64
    rules: np.ndarray         # [P, S] int64
    flags: np.ndarray         # [P, S] int64
    ct: np.ndarray | None = None
    pet: np.ndarray | None = None


def rule_bits(**fired: np.ndarray) -> np.ndarray:
    """``rule_bits(L_PD_LES=mask, ...)`` -> int64 bit set (underscores stand for dashes)."""
    out: np.ndarray | None = None
    for name, mask in fired.items():
        bit = np.where(mask, RULE[name.replace("_", "-").replace("IR2A", "IR2a").replace("IR2B", "IR2b")],
                       np.int64(0))
        out = bit if out is None else out | bit
    assert out is not None
    return out


def flag_bits(**fired: np.ndarray) -> np.ndarray:
    """``flag_bits(post_PD=mask, ...)`` -> int64 bit set (names as in FLAG_NAMES; ':' written '__')."""
    out: np.ndarray | None = None
    for name, mask in fired.items():
        bit = np.where(mask, np.int64(FLAG[name.replace("__", ":")]), np.int64(0))
        out = bit if out is None else out | bit
    assert out is not None
    return out
