"""InflaMix cluster assignment (the published algorithm; the model is supplied by the user).

Source: Raj SS, Fei T, Fried S et al., "An inflammatory biomarker signature of response to CAR-T cell therapy
in non-Hodgkin lymphoma", Nat Med 2025;31:1183, doi:10.1038/s41591-025-03532-x; authors' R function
``assign_clust`` (``vdblab/InflaMix`` scripts/000_functions_constants.R and the calculator
``ssraj017/inflamix_app_prod``). Spec ``inflamix.md`` §1-§7.

Algorithm (inflamix.md §2, §4), for each of up to 14 day-0 labs::

    t = value / ULN;  t = log10(t) for CRP and ferritin;  z = (t - m_lab) / s_lab
    P(k | z_obs) = pi_k N(z_obs; mu_k[obs], Sigma_k[obs, obs]) / sum_j pi_j N(z_obs; mu_j[obs], Sigma_j[obs, obs])

* Missing labs are marginalised out exactly (slice the means and covariances); at least 2 labs are required
  (the original returns NaN for one lab).
* Computed in the log domain (``scipy.stats.multivariate_normal.logpdf`` and log-sum-exp). Where the original,
  which multiplies plain densities, would underflow to 0/0 = NaN, the log-domain value is returned with
  ``out_of_distribution = True`` (inflamix.md §4.2, second option).
* Class: P > 0.5 is "Inflammatory" (the calculator's rule); P = 0.5 is "Non-inflammatory".
* Only value/ULN enters, so units cancel when value and ULN share a unit; otherwise both are converted through
  :mod:`cartlens.units`. A bare number is read in the calculator's unit (:data:`CALCULATOR_UNITS`); a missing
  ULN takes the calculator's default (MSK) ULN, with a message (inflamix.md §7: a classic error source).
* The calculator's IL-10 bug (IL-10 ULN := IL-10 value, inflamix.md §7) is **not** reproduced.

**Licence (inflamix.md §9).** cartlens ships no InflaMix parameters. :func:`load_inflamix_model` reads the
``model.RData`` a user obtains from the calculator repository under the InflaMix Terms of Use (research use
only, no patient care). Every output says so. ``sklearn.mixture.GaussianMixture`` is not used: it cannot
marginalise over missing features (inflamix.md §5).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from cartlens.scores import _units
from cartlens.scores.common import InputSpec, ScoreInputError, ScoreResult, is_missing, not_computable

SOURCE = ("Raj SS, Fei T, Fried S et al., Nat Med 2025;31:1183 (InflaMix); assignment as in the authors' "
          "assign_clust (vdblab/InflaMix); inflamix.md")
RESEARCH_NOTICE = ("research use only (InflaMix Terms of Use, MSK): not for diagnosis, treatment or patient care; "
                   "model parameters supplied by the user")

#: Model feature order (rows of dev_mu / dev_sig), inflamix.md §2.
FEATURES = ("albumin", "alk", "ast", "ferritin", "hb", "ldh", "plt", "tbr", "il10", "il6", "tnfa", "crp",
            "ddimer", "wbc")
#: Score input name (data-model analyte vocabulary) for each model feature.
INPUT_NAME = {"albumin": "albumin", "alk": "alp", "ast": "ast", "ferritin": "ferritin", "hb": "hb",
              "ldh": "ldh", "plt": "plt", "tbr": "bilirubin", "il10": "il10", "il6": "il6", "tnfa": "tnfa",
              "crp": "crp", "ddimer": "ddimer", "wbc": "wbc"}
#: Other accepted input names: the model's own (``alk``, ``tbr``) and common spellings.
ALIASES = {alias + suffix: name + suffix
           for alias, name in {"alk": "alp", "tbr": "bilirubin", "hgb": "hb", "il_6": "il6", "il_10": "il10",
                               "tnf": "tnfa", "d_dimer": "ddimer", "platelets": "plt"}.items()
           for suffix in ("", "_uln")}
LOG_FEATURES = frozenset({"crp", "ferritin"})
#: Units of the calculator (a bare number is read in these) and its default (MSK) ULNs, inflamix.md §2.
CALCULATOR_UNITS = {"albumin": "g/dL", "alk": "U/L", "ast": "U/L", "ferritin": "ng/mL", "hb": "g/dL",
                    "ldh": "U/L", "plt": "10^9/L", "tbr": "mg/dL", "il10": "pg/mL", "il6": "pg/mL",
                    "tnfa": "pg/mL", "crp": "mg/dL", "ddimer": "ug/mL", "wbc": "10^9/L"}
DEFAULT_ULN = {"albumin": 5.0, "alk": 130.0, "ast": 37.0, "ferritin": 415.0, "hb": 16.2, "ldh": 250.0,
               "plt": 400.0, "tbr": 1.2, "il10": 18.0, "il6": 5.0, "tnfa": 22.0, "crp": 0.3, "ddimer": 0.5,
               "wbc": 11.0}
MIN_LABS = 2
THRESHOLD = 0.5   # P > 0.5 -> Inflammatory

INPUTS = tuple(
    spec
    for feature in FEATURES
    for spec in (
        InputSpec(INPUT_NAME[feature], "text", f"day-0 {INPUT_NAME[feature]}", unit=CALCULATOR_UNITS[feature],
                  analyte=INPUT_NAME[feature], required=False),
        InputSpec(f"{INPUT_NAME[feature]}_uln", "text", f"local ULN of {INPUT_NAME[feature]} (default "
                  f"{DEFAULT_ULN[feature]:g} {CALCULATOR_UNITS[feature]}, the calculator's)",
                  unit=CALCULATOR_UNITS[feature], analyte=INPUT_NAME[feature], required=False),
    )
)


@dataclass(frozen=True)
class InflaMixModel:
    """A 2-component full-covariance Gaussian mixture over the 14 scaled labs, plus the scaling constants.

    Parameters
    ----------
    weights : array, shape (2,)
        Mixing weights pi_k (sum 1).
    means : array, shape (2, 14)
        Component means in scaled units, features in :data:`FEATURES` order.
    covariances : array, shape (2, 14, 14)
        Component covariance matrices (symmetric positive definite).
    scaling_mean, scaling_sd : array, shape (14,)
        Mean and sample SD of value/ULN (log10 for CRP, ferritin) in the derivation cohort.
    inflammatory : int, default 1
        0-based index of the inflammatory component (the published object: component 2, i.e. 1).
    provenance : str
        Where the parameters came from (file name, or "synthetic").
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray
    scaling_mean: np.ndarray
    scaling_sd: np.ndarray
    inflammatory: int = 1
    provenance: str = ""
    features: tuple[str, ...] = field(default=FEATURES)

    def __post_init__(self) -> None:
        n = len(self.features)
        arrays = {"weights": (2,), "means": (2, n), "covariances": (2, n, n), "scaling_mean": (n,),
                  "scaling_sd": (n,)}
        for name, shape in arrays.items():
            arr = np.array(getattr(self, name), dtype=float)
            if arr.shape != shape or not np.all(np.isfinite(arr)):
                raise ValueError(f"InflaMix model: {name} must be finite with shape {shape}, got {arr.shape}")
            arr.flags.writeable = False
            object.__setattr__(self, name, arr)
        if tuple(self.features) != FEATURES:
            raise ValueError(f"InflaMix model: features must be {FEATURES} in this order")
        if np.any(self.weights <= 0) or not math.isclose(float(self.weights.sum()), 1.0, abs_tol=1e-9):
            raise ValueError(f"InflaMix model: weights must be positive and sum to 1, got {self.weights}")
        if np.any(self.scaling_sd <= 0):
            raise ValueError("InflaMix model: scaling SDs must be > 0")
        for k in range(2):
            cov = self.covariances[k]
            if not np.allclose(cov, cov.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(cov).max()))):
                raise ValueError(f"InflaMix model: covariance {k + 1} is not symmetric")
            try:
                np.linalg.cholesky(cov)
            except np.linalg.LinAlgError:
                raise ValueError(f"InflaMix model: covariance {k + 1} is not positive definite") from None
        if self.inflammatory not in (0, 1):
            raise ValueError("InflaMix model: inflammatory must be 0 or 1")


@dataclass(frozen=True, slots=True)
class Posterior:
    """Posterior of the inflammatory component given the observed scaled labs."""

    p_inflammatory: float
    log_joint: tuple[float, float]            # log(pi_k) + log N(z_obs; ...) per component
    labs_used: tuple[str, ...]
    out_of_distribution: bool                 # the original (plain densities) would return NaN here


def scale_lab(model: InflaMixModel, feature: str, ratio: float) -> float:
    """z = (t - m) / s with t = value/ULN, log10 for CRP and ferritin (inflamix.md §2)."""
    i = FEATURES.index(feature)
    t = math.log10(ratio) if feature in LOG_FEATURES else ratio
    return (t - float(model.scaling_mean[i])) / float(model.scaling_sd[i])


def posterior(model: InflaMixModel, scaled: Mapping[str, float], *, min_labs: int = MIN_LABS) -> Posterior | None:
    """Exact marginal posterior over the observed features; None when fewer than ``min_labs`` are observed."""
    idx = [i for i, f in enumerate(FEATURES) if f in scaled and scaled[f] is not None]
    if len(idx) < min_labs:
        return None
    z = np.array([scaled[FEATURES[i]] for i in idx], dtype=float)
    sub = np.ix_(idx, idx)
    log_joint = np.array([
        math.log(model.weights[k]) + multivariate_normal(model.means[k][idx], model.covariances[k][sub]).logpdf(z)
        for k in range(2)
    ])
    p = float(np.exp(log_joint[model.inflammatory] - logsumexp(log_joint)))
    underflow = bool(np.all(np.exp(log_joint) == 0.0))   # what R's pi_k * dmvnorm() would give: 0/0
    return Posterior(p, (float(log_joint[0]), float(log_joint[1])), tuple(FEATURES[i] for i in idx), underflow)


def _ratio(feature: str, raw_value: Any, raw_uln: Any, messages: list[str]) -> float:
    name = INPUT_NAME[feature]
    calc_unit = CALCULATOR_UNITS[feature]
    if is_missing(raw_uln):
        raw_uln = f"{DEFAULT_ULN[feature]:g} {calc_unit}"
        messages.append(f"{name}: no ULN given; the calculator's default (MSK) ULN {raw_uln} was used")
    value, v_unit, censored = _units.parse(name, str(raw_value))
    uln, u_unit, _ = _units.parse(f"{name}_uln", str(raw_uln))
    if censored:
        messages.append(f"{name}: censored value {raw_value!r} scored at its limit of quantification")
    v_unit, u_unit = v_unit or calc_unit, u_unit or calc_unit
    if v_unit.replace(" ", "").lower() != u_unit.replace(" ", "").lower():
        value = _units.convert_pair(name, name, f"{value} {v_unit}", None)
        uln = _units.convert_pair(f"{name}_uln", name, f"{uln} {u_unit}", None)
    if not uln > 0:
        raise ScoreInputError(f"{name}_uln", f"must be > 0, got {raw_uln!r}")
    if value < 0 or (feature in LOG_FEATURES and value <= 0):
        bound = "> 0 (log10 is taken)" if feature in LOG_FEATURES else ">= 0"
        raise ScoreInputError(name, f"must be {bound}, got {raw_value!r}")
    return value / uln


def inflamix(values: dict[str, Any], missing: list[str], messages: list[str], *,
             model: InflaMixModel | str | Path | None = None, **_: Any) -> ScoreResult:
    """P(inflammatory cluster) from up to 14 labs with their local ULNs; class Inflammatory when P > 0.5."""
    if model is None:
        raise ScoreInputError("model", "InflaMix needs the official model file (model.RData from the calculator "
                              "repository, obtained under its Terms of Use); cartlens ships no parameters")
    if not isinstance(model, InflaMixModel):
        model = load_inflamix_model(model)
    msgs = [*messages, RESEARCH_NOTICE]
    for name in values:
        if name.endswith("_uln") and name[:-4] not in values:
            raise ScoreInputError(name, f"ULN given without a value for {name[:-4]}")
    scaled = {f: scale_lab(model, f, _ratio(f, values[INPUT_NAME[f]], values.get(f"{INPUT_NAME[f]}_uln"), msgs))
              for f in FEATURES if INPUT_NAME[f] in values}
    extra: dict[str, Any] = {"research_use_only": True, "n_labs": len(scaled),
                             "scaled": {INPUT_NAME[f]: z for f, z in scaled.items()}, "model": model.provenance}
    post = posterior(model, scaled)
    if post is None:
        return not_computable("inflamix", [], source=SOURCE, extra=extra,
                              messages=[f"not computable: at least {MIN_LABS} labs needed, got {len(scaled)}", *msgs])
    if post.out_of_distribution:
        msgs.append("out of distribution: both component densities underflow (the original R code returns NaN); "
                    "log-domain value reported")
    group = "Inflammatory" if post.p_inflammatory > THRESHOLD else "Non-inflammatory"
    extra |= {"out_of_distribution": post.out_of_distribution, "log_joint": list(post.log_joint)}
    return ScoreResult("inflamix", True, post.p_inflammatory, group, {}, tuple(msgs), SOURCE, extra=extra)


def model_from_arrays(weights: Any, means: Any, covariances: Any, scaling_mean: Any, scaling_sd: Any, *, inflammatory: int = 1, provenance: str = "") -> InflaMixModel:
    """Build a model from plain arrays (features in :data:`FEATURES` order)."""
    return InflaMixModel(np.asarray(weights, float), np.asarray(means, float), np.asarray(covariances, float),
                         np.asarray(scaling_mean, float), np.asarray(scaling_sd, float), inflammatory, provenance)


def load_inflamix_model(path: str | Path) -> InflaMixModel:
    """Read the official InflaMix ``model.RData`` (calculator repository version, with ``sc_devcoh_d0``).

    Uses the PyPI ``rdata`` package (inflamix.md §3): ``dev_mu`` (14 x 2), ``dev_sig`` (14 x 14 x 2),
    ``dev_pro``, ``dev_inflammClus`` (1-based) and ``sc_devcoh_d0`` (lab, tr_uln_mean, tr_uln_sd). Rows are
    matched by name (``d0_<lab>``), not by position.
    """
    import warnings

    import rdata

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")          # unknown R classes (Mclust, tbl_df) are harmless
            objects = rdata.conversion.convert(rdata.parser.parse_file(path))
    except Exception as exc:  # noqa: BLE001 - any parse failure is reported with the file name
        raise ValueError(f"{path.name}: cannot read as an R workspace: {exc}") from None
    need = ("dev_mu", "dev_sig", "dev_pro", "dev_inflammClus")
    absent = [name for name in need if name not in objects]
    if absent:
        raise ValueError(f"{path.name}: not an InflaMix model (missing {absent})")
    if "sc_devcoh_d0" not in objects:
        raise ValueError(f"{path.name}: has no scaling constants (sc_devcoh_d0); use the calculator "
                         "repository's myapp/model.RData (inflamix.md §3)")
    mu, sig = objects["dev_mu"], objects["dev_sig"]
    rows = [str(r).removeprefix("d0_") for r in np.asarray(mu.coords[mu.dims[0]].values)]
    if sorted(rows) != sorted(FEATURES):
        raise ValueError(f"{path.name}: dev_mu rows {rows} are not the 14 InflaMix labs")
    sig_rows = sig.coords[sig.dims[0]].values if sig.dims[0] in sig.coords else None
    if sig_rows is not None and [str(r).removeprefix("d0_") for r in np.asarray(sig_rows)] != rows:
        raise ValueError(f"{path.name}: dev_sig rows are not in the order of dev_mu rows")
    order = [rows.index(f) for f in FEATURES]
    mu_arr = np.asarray(mu.values, float)[order, :].T
    sig_arr = np.asarray(sig.values, float)[np.ix_(order, order, [0, 1])].transpose(2, 0, 1)
    scaling = objects["sc_devcoh_d0"]
    table = {str(lab): (float(m), float(s)) for lab, m, s in
             zip(scaling["lab"], scaling["tr_uln_mean"], scaling["tr_uln_sd"], strict=True)}
    table = {k.removeprefix("d0_"): v for k, v in table.items()}
    if set(table) != set(FEATURES):
        raise ValueError(f"{path.name}: sc_devcoh_d0 labs {sorted(table)} are not the 14 InflaMix labs")
    inflam = int(np.asarray(objects["dev_inflammClus"]).ravel()[0]) - 1
    return model_from_arrays(np.asarray(objects["dev_pro"], float).ravel(), mu_arr, sig_arr,
                             [table[f][0] for f in FEATURES], [table[f][1] for f in FEATURES],
                             inflammatory=inflam, provenance=path.name)
