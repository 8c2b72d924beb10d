"""cox_zph against R cox.zph (survival >= 3.0 score test; survival_cox.R -> survival_cox.json)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.stats.cox import coxph
from cartlens.stats.cox_zph import cox_zph

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import arr, load, why
except ImportError:
    from _survival_ref import arr, load, why  # type: ignore[no-redef]

REF = load("survival_cox")


def _lung():
    lung = REF["lung"]
    x = np.column_stack([arr(lung["age"]), arr(lung["sex"])])
    return arr(lung["time"]), arr(lung["status"]) == 2, x, arr(lung["ph_ecog"])


@pytest.mark.parametrize(("name", "ties", "transform"), [
    ("zph", "efron", "km"), ("zph_breslow", "breslow", "km"), ("zph_identity", "efron", "identity"),
])
def test_lung(name: str, ties: str, transform: str) -> None:
    t, d, x, _ = _lung()
    res = cox_zph(coxph(t, d, x, ties=ties), transform=transform)
    np.testing.assert_allclose(res.chisq, REF[name]["chisq"], rtol=1e-6, err_msg=why(REF))
    np.testing.assert_allclose(res.p, REF[name]["p"], rtol=1e-6, atol=1e-12)


def test_spec_values() -> None:
    """survival_stats.md §4.6: age 0.209 (p 0.65), sex 2.608 (p 0.11), global 2.771 (2 df, p 0.25)."""
    t, d, x, _ = _lung()
    res = cox_zph(coxph(t, d, x))
    np.testing.assert_allclose(res.chisq, [0.209, 2.608, 2.771], atol=1e-3)
    assert res.df.tolist() == [1, 1, 2]


def test_strata() -> None:
    t, d, x, ecog = _lung()
    ok = ~np.isnan(ecog)
    res = cox_zph(coxph(t[ok], d[ok], x[ok], strata=ecog[ok]))
    np.testing.assert_allclose(res.chisq, REF["zph_strata"]["chisq"], rtol=1e-6)
    s = REF["synth"]
    fit = coxph(s["time"], s["status"], np.column_stack([s["x1"], s["x2"], s["x3"]]), strata=s["centre"])
    np.testing.assert_allclose(cox_zph(fit).chisq, REF["synth_zph"]["chisq"], rtol=1e-6)
