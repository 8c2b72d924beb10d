"""kaplan_meier against R survfit (tests/reference/survival_km.R -> survival_km.json)."""

from __future__ import annotations

import numpy as np
import pytest

from cartlens.stats.km import kaplan_meier, landmark, reverse_km_median_followup

try:  # tests/stats as a package or as a plain directory of test modules
    from ._survival_ref import arr, load, why
except ImportError:
    from _survival_ref import arr, load, why  # type: ignore[no-redef]

REF = load("survival_km")
CURVE_KEYS = ("n_risk", "n_event", "n_censor", "surv", "std_err", "lower", "upper")
AT_KEYS = ("surv", "std_err", "lower", "upper", "n_risk", "n_event", "n_censor")


def _curve(fit, key: str) -> np.ndarray:
    """Curve column with inf as nan: R's std.err is Inf once S = 0, which JSON stores as null."""
    values = getattr(fit, key)
    return np.where(np.isinf(values), np.nan, values)


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "lung_km":
        return arr(REF["lung"]["time"]), arr(REF["lung"]["status"]) == 2
    return arr(REF["synth"]["time"]), arr(REF["synth"]["status"]) == 1


@pytest.mark.parametrize("data", ["lung_km", "synth_km"])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain", "logit", "arcsin"])
def test_curve_quantiles_and_risk_table(data: str, conf_type: str) -> None:
    ref = REF[data][conf_type]
    fit = kaplan_meier(*_data(data), conf_type=conf_type)
    np.testing.assert_allclose(fit.times, ref["time"], rtol=1e-12, err_msg=why(REF))
    for key in CURVE_KEYS:
        np.testing.assert_allclose(_curve(fit, key), arr(ref[key]), rtol=1e-9, equal_nan=True, err_msg=key)
    for i, p in enumerate((0.25, 0.5, 0.75)):
        got = [np.nan if v is None else v for v in fit.quantile(p)]
        want = [arr(ref["quant"][k])[i] for k in ("q", "lower", "upper")]
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True, err_msg=f"quantile {p}")
    rows = fit.at(ref["at"]["times"])
    for key in AT_KEYS:
        np.testing.assert_allclose(arr([r[key] for r in rows]), arr(ref["at"][key]), rtol=1e-9, equal_nan=True,
                                   err_msg=f"at {key}")


def test_conf_level_90() -> None:
    ref = REF["lung_km"]["log90"]
    fit = kaplan_meier(*_data("lung_km"), conf_level=0.9)
    np.testing.assert_allclose(fit.lower, arr(ref["lower"]), rtol=1e-9, equal_nan=True)
    assert fit.median() == (310.0, *arr(ref["quant"]["lower"])[1:2], *arr(ref["quant"]["upper"])[1:2])


def test_spec_lung_values() -> None:
    """survival_stats.md §2.2-2.4 (R 4.2.2): S(180) 0.721671 (log CI 0.66554-0.78253), median 310 (285-363)."""
    fit = kaplan_meier(*_data("lung_km"))
    row = fit.at([180])[0]
    assert (row["surv"], row["lower"], row["upper"]) == pytest.approx((0.721671, 0.66554, 0.78253), abs=5e-6)
    assert row["n_risk"] == 160
    assert fit.median() == (310.0, 285.0, 363.0)
    assert [r["n_risk"] for r in fit.at([0, 200, 400, 600, 800, 1000])] == [228, 144, 57, 24, 8, 2]
    assert fit.restricted_mean() == pytest.approx(REF["lung_rmean"], rel=1e-9)


@pytest.mark.parametrize("name", ["toy", "toy2"])
def test_small_curves_r_quantile_rules(name: str) -> None:
    """Exact 0.5 plateau -> midpoint (toy: 2.5; lifelines says 2, statsmodels 3), curves ending at 0 or not."""
    data = {"toy": ([1, 2, 3, 4], [1, 1, 1, 1]), "toy2": ([1, 2, 2, 3, 5, 6, 6, 8], [1, 0, 1, 1, 0, 1, 0, 0])}[name]
    ref = REF[name]
    fit = kaplan_meier(*data)
    for key in CURVE_KEYS:
        np.testing.assert_allclose(_curve(fit, key), arr(ref[key]), rtol=1e-9, equal_nan=True, err_msg=key)
    for i, p in enumerate((0.25, 0.5, 0.75)):
        got = [np.nan if v is None else v for v in fit.quantile(p)]
        want = [arr(ref["quant"][k])[i] for k in ("q", "lower", "upper")]
        np.testing.assert_allclose(got, want, equal_nan=True, err_msg=f"quantile {p}")
    rows = fit.at(ref["at"]["times"])
    for key in AT_KEYS:
        np.testing.assert_allclose(arr([r[key] for r in rows]), arr(ref["at"][key]), rtol=1e-9, equal_nan=True,
                                   err_msg=f"at {key}")


def test_median_by_sex_and_reverse_km() -> None:
    t, d = _data("lung_km")
    sex = arr(REF["lung"]["sex"])
    for i, level in enumerate((1, 2)):
        med = kaplan_meier(t[sex == level], d[sex == level]).median()
        want = [arr(REF["lung_sex_median"][k])[i] for k in ("median", "lower", "upper")]
        np.testing.assert_allclose([np.nan if v is None else v for v in med], want, equal_nan=True)
    assert reverse_km_median_followup(t, d) == tuple(REF["lung_reverse"])      # 588 (511-1010), spec §2.5
    for i, level in enumerate((1, 2)):
        med = reverse_km_median_followup(t[sex == level], d[sex == level])
        want = [arr(REF["lung_reverse_sex"][k])[i] for k in ("median", "lower", "upper")]
        np.testing.assert_allclose([np.nan if v is None else v for v in med], want, equal_nan=True)


def test_landmark_hand_example() -> None:
    # times 10, 30, 30, 45, 90; landmark 30: keep only time > 30 -> subjects 3 and 4 (0-based)
    res = landmark([10, 30, 30, 45, 90], [1, 0, 1, 1, 0], 30, response_time=[np.nan, 20, 5, 25, np.nan])
    assert res.kept.tolist() == [3, 4]
    assert res.time.tolist() == [15.0, 60.0]
    assert res.responder.tolist() == [True, False]
    assert (res.n_excluded, res.events_after) == (3, 1)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"event": [1, 2, 2]}, r"event: element 1 is 2"),
    ({"time": [1.0, -1.0, 2.0]}, r"time: element 1 is -1.0"),
    ({"time": [1.0, np.nan, 2.0]}, r"time: element 1 is nan"),
    ({"conf_type": "logistic"}, r"conf_type must be one of"),
    ({"conf_level": 1.0}, r"conf_level must be in \(0, 1\)"),
])
def test_bad_input_is_refused(kwargs: dict, message: str) -> None:
    args = {"time": [1.0, 2.0, 3.0], "event": [1, 0, 1]} | kwargs
    with pytest.raises(ValueError, match=message):
        kaplan_meier(args.pop("time"), args.pop("event"), **args)


@pytest.mark.parametrize("case", range(40))
def test_printed_median_small_cohorts(case: int) -> None:
    """print(survfit) medians with CI (survmean rule) on 40 small R-generated cohorts with ties."""
    ref = REF["median_cases"][case]
    for conf_type in ("log", "log-log", "plain"):
        got = kaplan_meier(ref["time"], ref["status"], conf_type=conf_type).median()
        np.testing.assert_allclose([np.nan if v is None else v for v in got], arr(ref[conf_type]), equal_nan=True,
                                   err_msg=f"{conf_type}: time={ref['time']} status={ref['status']}")


def test_landmark_myeloid_against_r() -> None:
    """Landmark 100 days on survival::myeloid, OS by complete response at L (survival_landmark.R)."""
    from cartlens.stats.logrank import survdiff

    ref = load("survival_landmark")
    res = landmark(ref["futime"], ref["death"], ref["landmark"], response_time=arr(ref["crtime"]))
    assert (res.kept.size, res.n_excluded, res.events_after) == (ref["n_kept"], ref["n_excluded"],
                                                                 ref["events_after"])
    assert int(res.responder.sum()) == ref["n_cr"]
    test = survdiff(res.time, res.event, res.responder)
    assert test.chisq == pytest.approx(ref["chisq"], rel=1e-6)
    assert test.p == pytest.approx(ref["p"], rel=1e-6)
    got = []
    for flag in (False, True):
        fit = kaplan_meier(res.time[res.responder == flag], res.event[res.responder == flag])
        assert fit.median()[0] == ref["median"][int(flag)]
        got += [row["surv"] for row in fit.at([365, 730])]
    np.testing.assert_allclose(got, ref["surv_at"], rtol=1e-9)


@pytest.mark.parametrize("name", ["frac_weights_lung", "frac_weights_synth"])
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_fractional_weights_use_r_infinitesimal_jackknife(name: str, conf_type: str) -> None:
    """R survfit with non-integer weights: IJ variance (std.err on the S scale, logse = FALSE)."""
    ref = REF[name]
    r = ref[conf_type]
    assert r["logse"] is False
    fit = kaplan_meier(ref["time"], ref["status"], weights=ref["weights"], conf_type=conf_type)
    np.testing.assert_allclose(fit.surv, r["surv"], rtol=1e-12)
    np.testing.assert_allclose(fit.surv * fit.std_err, arr(r["std_err_s"]), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(fit.lower, arr(r["lower"]), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose(fit.upper, arr(r["upper"]), rtol=1e-9, equal_nan=True)
    np.testing.assert_allclose([np.nan if v is None else v for v in fit.median()], arr(r["median"]),
                               equal_nan=True)
    printed = [row["std_err"] for row in fit.at([100, 300, 500])]
    np.testing.assert_allclose(printed, r["at_std_err"], rtol=1e-9)
