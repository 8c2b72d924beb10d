"""The score registry: name -> inputs, citation, unverified flag and the function that computes it.

:func:`compute` is the one entry point used by the CLI (``cartlens score NAME``), the web calculators and the
study pipeline. Input names are the CLI flags with dashes as underscores; values are numbers in the canonical
unit or strings with a unit (``"90 g/L"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cartlens.scores import astct, car_impi, deauville, easix, hematotox, impi, inflamix, ipi, severe4
from cartlens.scores.common import ScoreInputError, ScoreResult, ScoreSpec, read_inputs

_SPECS = (
    ScoreSpec("ipi", "International Prognostic Index", ipi.IPI_INPUTS, ipi.IPI_SOURCE, ipi.ipi,
              groups=ipi.IPI_GROUPS),
    ScoreSpec("aaipi", "Age-adjusted IPI (sAAIPI at relapse)", ipi.AAIPI_INPUTS, ipi.AAIPI_SOURCE, ipi.aaipi,
              groups=ipi.IPI_GROUPS),
    ScoreSpec("ripi", "Revised IPI", ipi.IPI_INPUTS, ipi.RIPI_SOURCE, ipi.ripi, groups=ipi.RIPI_GROUPS),
    ScoreSpec("nccn-ipi", "NCCN-IPI", ipi.NCCN_INPUTS, ipi.NCCN_SOURCE, ipi.nccn_ipi, groups=ipi.IPI_GROUPS,
              notes="key extranodal sites: bone marrow, CNS, liver/GI tract, lung (pleura not counted by default)"),
    ScoreSpec("car-hematotox", "CAR-HEMATOTOX", hematotox.INPUTS, hematotox.SOURCE, hematotox.car_hematotox,
              groups=("HT-low", "HT-high"), notes="before lymphodepletion; HT-high >= 2 (high_cutoff option)"),
    ScoreSpec("easix", "EASIX", easix.EASIX_INPUTS, easix.EASIX_SOURCE, easix.easix, groups=("low", "high"),
              notes="group: EASIX-pre > 4.67, valid immediately before lymphodepletion"),
    ScoreSpec("simplified-easix", "Simplified EASIX", easix.SIMPLIFIED_INPUTS, easix.PENNISI_SOURCE,
              easix.simplified_easix),
    ScoreSpec("m-easix", "Modified EASIX", easix.M_EASIX_INPUTS, easix.PENNISI_SOURCE, easix.m_easix,
              notes="no published cutoff; continuous value"),
    ScoreSpec("severe4", "Severe4 comorbidity index", severe4.INPUTS, severe4.SOURCE, severe4.severe4,
              groups=("not Severe4", "Severe4")),
    ScoreSpec("deauville", "Deauville five-point scale", deauville.INPUTS, deauville.SOURCE, deauville.deauville,
              notes="'markedly higher than liver' = > multiplier x liver (default 2.0)"),
    ScoreSpec("crs", "CRS grade (ASTCT 2019)", astct.CRS_INPUTS, astct.SOURCE, astct.crs),
    ScoreSpec("icans", "ICANS grade (ASTCT 2019, adults)", astct.ICANS_INPUTS, astct.SOURCE, astct.icans),
    ScoreSpec("ice", "ICE score (ASTCT 2019)", astct.ICE_INPUTS, astct.SOURCE, astct.ice_score),
    ScoreSpec("impi", "International Metabolic Prognostic Index (linear predictor)", impi.INPUTS, impi.SOURCE,
              impi.impi, unverified=True, notes=impi.UNVERIFIED_NOTE),
    ScoreSpec("car-impi", "CAR-IMPI (linear predictor)", car_impi.INPUTS, car_impi.SOURCE, car_impi.car_impi,
              groups=("low", "high"),
              notes="needs a reviewed or fitted coefficient set (coefficients=...); refuses without one"),
    ScoreSpec("inflamix", "InflaMix inflammatory cluster", inflamix.INPUTS, inflamix.SOURCE, inflamix.inflamix,
              groups=("Non-inflammatory", "Inflammatory"),
              notes="research use only; needs the user's model.RData (model=...); >= 2 labs",
              aliases=inflamix.ALIASES),
)

#: name -> :class:`ScoreSpec` (read-only). Use ``SCORES[name].to_dict()`` to build a form.
SCORES: Mapping[str, ScoreSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})

#: Options (keyword arguments of :func:`compute`) per score; also accepted among the inputs.
OPTIONS = {"car-impi": frozenset({"coefficients", "allow_example", "upper_tercile"}),
           "inflamix": frozenset({"model"}), "car-hematotox": frozenset({"high_cutoff"}),
           "nccn-ipi": frozenset({"pleura_as_lung"}), "deauville": frozenset({"multiplier"})}

ALIASES = {"hematotox": "car-hematotox", "ht": "car-hematotox", "r-ipi": "ripi", "aa-ipi": "aaipi",
           "saaipi": "aaipi", "measix": "m-easix", "astct-crs": "crs", "astct-icans": "icans",
           "easix-simplified": "simplified-easix", "carimpi": "car-impi"}


def canonical_name(name: str) -> str:
    """Registry name for ``name`` (case-insensitive; underscores as dashes; a few aliases)."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    if key not in SCORES:
        raise ScoreInputError("score", f"unknown score {name!r}; known: {sorted(SCORES)}")
    return key


def compute(name: str, inputs: Mapping[str, Any], **config: Any) -> ScoreResult:
    """Compute one score for one patient.

    Parameters
    ----------
    name : str
        Score name (``ipi``, ``aaipi``, ``ripi``, ``nccn-ipi``, ``car-hematotox``, ``easix``,
        ``simplified-easix``, ``m-easix``, ``severe4``, ``deauville``, ``crs``, ``icans``, ``ice``, ``impi``,
        ``car-impi``, ``inflamix``).
    inputs : mapping
        Input name -> value. Numbers are read in the canonical unit of :data:`SCORES` ``[name].inputs``;
        strings may carry a unit (``"45 mg/L"``). Missing inputs make the result not computable.
    **config
        Score options, e.g. ``high_cutoff`` (car-hematotox), ``pleura_as_lung`` (nccn-ipi), ``multiplier``
        (deauville), ``coefficients`` / ``allow_example`` / ``upper_tercile`` (car-impi), ``model`` (inflamix).

    Returns
    -------
    ScoreResult

    Raises
    ------
    ScoreInputError
        Unknown score or input, wrong unit, implausible value.
    cartlens.scores.car_impi.CoefficientsNotConfigured
        CAR-IMPI without a configured model.
    """
    spec = SCORES[canonical_name(name)]
    options = OPTIONS.get(spec.name, frozenset())
    moved = {k.replace("-", "_"): v for k, v in inputs.items() if k.replace("-", "_") in options}
    if moved:          # an option passed among the inputs (as on the command line) is treated as an option
        inputs = {k: v for k, v in inputs.items() if k.replace("-", "_") not in options}
        config = {**moved, **config}
    values, missing, messages = read_inputs(spec.inputs, inputs, score=spec.name, aliases=spec.aliases)
    return spec.function(values, missing, messages, **config)
