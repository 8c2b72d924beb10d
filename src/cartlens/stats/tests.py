"""Group comparisons for baseline tables, matching R ``stats`` (R 4.2.2; survival_stats.md §8).

* Mann–Whitney / Wilcoxon rank-sum: ``wilcox.test(x, y)`` statistic W = rank sum of x − n_x(n_x+1)/2,
  where x is the first group level.  p: normal approximation with continuity correction and the tie
  correction of the variance (``exact = FALSE, correct = TRUE``, the ``cartlens stats groups`` contract);
  ``method="auto"`` follows R's default (exact when both n < 50 and no ties).
* Kruskal–Wallis: ``kruskal.test`` (tie-corrected H, K − 1 df) — scipy's ``kruskal`` is identical.
* Pearson χ²: ``chisq.test(table, correct = FALSE)``.
* Fisher's exact test for r×c tables, deterministic: the p-value sums all tables with the observed
  margins whose probability is <= the observed one × (1 + 1e-7) (R ``fisher.test``'s ``relErr``).
  The tables are enumerated column by column on a network of remaining row margins (Mehta & Patel,
  JASA 1983;78:427-34), merging paths with equal partial probability — exact, with no Monte Carlo
  (scipy's r×c default is resampling-based and changes between calls).
* Median (Q1, Q3) with R's default ``quantile`` type 7 (= numpy "linear"; Hyndman & Fan 1996).

Group levels are ordered as R orders factor levels from sorted values (numbers numerically, text by
Python's code-point order — R's locale collation may differ for mixed case; documented).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as sps
from scipy.special import gammaln

from cartlens.stats.riskgroups import quantile_type7

__all__ = [
    "GroupTestsResult",
    "TableTestsResult",
    "TestResult",
    "chisq_test",
    "fisher_exact_rxc",
    "group_tests",
    "kruskal_wallis",
    "mann_whitney",
    "median_iqr",
    "table_tests",
]


@dataclass(frozen=True)
class TestResult:
    """One hypothesis test: statistic, p-value and the settings that produced them."""

    __test__ = False                    # not a pytest test class

    name: str
    statistic: float | None
    p: float
    df: float | None = None
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"statistic": self.statistic, "p": self.p}
        if self.df is not None:
            out["df"] = self.df
        out["method"] = self.method
        return out

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"test": self.name, "statistic": self.statistic, "df": self.df, "p": self.p,
                              "method": self.method}])


def _finite(values: ArrayLike, name: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        raise ValueError(f"{name}[{bad[0]}]: must be finite, got {v[bad[0]]!r}")
    return v


def mann_whitney(x: ArrayLike, y: ArrayLike, *, method: Literal["normal", "auto", "exact"] = "normal",
                 correct: bool = True) -> TestResult:
    """Wilcoxon rank-sum / Mann–Whitney test, two-sided, as R ``wilcox.test(x, y, exact, correct)``.

    ``method="normal"``: R's ``exact = FALSE`` (normal approximation, tie-corrected variance, continuity
    correction when ``correct``).  ``"auto"``: R's default (exact if n_x < 50, n_y < 50 and no ties).
    """
    xv, yv = _finite(x, "x"), _finite(y, "y")
    nx, ny = xv.size, yv.size
    if nx == 0 or ny == 0:
        raise ValueError(f"both groups need observations, got n_x={nx}, n_y={ny}")
    ranks = sps.rankdata(np.r_[xv, yv])
    w = float(ranks[:nx].sum() - nx * (nx + 1) / 2)
    ties = np.unique(ranks, return_counts=True)[1]
    exact = method == "exact" or (method == "auto" and nx < 50 and ny < 50 and np.all(ties == 1))
    if exact:
        p = float(sps.mannwhitneyu(xv, yv, alternative="two-sided", method="exact").pvalue)
        return TestResult("Wilcoxon rank sum exact test", w, p, method="exact")
    n = nx + ny
    z = w - nx * ny / 2
    sigma = math.sqrt(nx * ny / 12 * ((n + 1) - np.sum(ties**3 - ties) / (n * (n - 1))))
    corr = math.copysign(0.5, z) if correct and z != 0 else 0.0
    if sigma == 0:
        return TestResult("Wilcoxon rank sum test", w, float("nan"), method="normal")
    zz = (z - corr) / sigma
    p = float(2 * min(sps.norm.cdf(zz), sps.norm.sf(zz)))
    label = "normal, continuity correction" if correct else "normal"
    return TestResult("Wilcoxon rank sum test", w, p, method=label)


def kruskal_wallis(*samples: ArrayLike) -> TestResult:
    """Kruskal–Wallis rank-sum test, R ``kruskal.test`` (tie-corrected H, K − 1 df)."""
    groups = [_finite(s, f"group{i + 1}") for i, s in enumerate(samples)]
    if len(groups) < 2 or any(g.size == 0 for g in groups):
        raise ValueError("Kruskal-Wallis needs at least two non-empty groups")
    h, p = sps.kruskal(*groups)
    return TestResult("Kruskal-Wallis rank sum test", float(h), float(p), df=len(groups) - 1, method="chisq")


def _table(table: ArrayLike) -> np.ndarray:
    t = np.asarray(table, dtype=float)
    if t.ndim != 2 or min(t.shape) < 2:
        raise ValueError(f"need an r x c table with r, c >= 2, got shape {t.shape}")
    if np.any(t < 0) or np.any(t != np.round(t)):
        raise ValueError("table: counts must be non-negative integers")
    return t.astype(np.int64)


def chisq_test(table: ArrayLike, *, correct: bool = False) -> TestResult:
    """Pearson χ² test of independence, R ``chisq.test(table, correct = FALSE)`` by default.

    ``correct=True`` applies Yates' correction to 2×2 tables as R's default does.  Rows or columns
    summing to 0 make an expected count 0 and the statistic NaN (as R).
    """
    t = _table(table)
    stat, p, df, expected = sps.chi2_contingency(t, correction=correct)
    small = bool(np.any(expected < 5))
    method = "Pearson" + (" (Yates)" if correct and t.shape == (2, 2) else "")
    return TestResult("Pearson's Chi-squared test", float(stat), float(p), df=int(df),
                      method=method + ("; expected counts < 5" if small else ""))


def fisher_exact_rxc(table: ArrayLike) -> TestResult:
    """Fisher's exact test for an r×c table, two-sided, deterministic (R ``fisher.test`` p-value).

    p = Σ P(T) over tables T with the observed margins and ``P(T) <= P(obs)·(1 + 1e-7)``, where
    ``P(T) = Π r_i! Π c_j! / (n! Π t_ij!)``.
    """
    t = _table(table)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0]           # R drops empty rows/columns
    if min(t.shape) < 2:
        return TestResult("Fisher's Exact Test for Count Data", None, 1.0, method="exact")
    if t.shape[0] > t.shape[1]:
        t = t.T
    rows, cols = t.sum(axis=1), np.sort(t.sum(axis=0))[::-1]
    n = int(t.sum())
    const = float(gammaln(rows + 1).sum() - gammaln(n + 1))      # path weights carry Π c_j!/Π t_ij!
    obs = const + float(gammaln(cols + 1).sum() - gammaln(t + 1).sum())
    p = _network_sum(tuple(int(r) for r in rows), [int(c) for c in cols], const, obs)
    return TestResult("Fisher's Exact Test for Count Data", None, float(min(1.0, p)), method="exact")


def _compositions(total: int, caps: tuple[int, ...]) -> np.ndarray:
    """All ways to split ``total`` into len(caps) non-negative parts bounded by caps, shape (K, len(caps))."""
    r = len(caps)
    if r == 1:
        return np.array([[total]]) if total <= caps[0] else np.empty((0, 1), dtype=np.int64)
    grids = np.meshgrid(*[np.arange(min(cap, total) + 1) for cap in caps[:-1]], indexing="ij")
    head = np.stack([g.ravel() for g in grids], axis=1)
    last = total - head.sum(axis=1)
    ok = (last >= 0) & (last <= caps[-1])
    return np.column_stack([head[ok], last[ok]]).astype(np.int64)


def _column_extremes(c: int, caps: tuple[int, ...]) -> tuple[float, float]:
    """(min, max) of log(c!/Π x_i!) over splits of c bounded by caps: most concentrated / most even."""
    rest, conc = c, []
    for cap in sorted(caps, reverse=True):                 # largest caps first: majorising split
        conc.append(min(cap, rest))
        rest -= conc[-1]
    order = sorted(caps)
    even, rest = [], c
    for k, cap in enumerate(order):                        # water-filling: most even capped split
        left = len(order) - k
        share = rest // left
        if cap <= share:
            even.append(cap)
            rest -= cap
            continue
        extra = rest - share * left                        # < left cells get one more unit
        even.extend([share + 1] * extra + [share] * (left - extra))
        break
    lgc = math.lgamma(c + 1)
    return (lgc - sum(math.lgamma(x + 1) for x in conc), lgc - sum(math.lgamma(x + 1) for x in even))


class _Network:
    """Mehta & Patel (1983) network for Fisher's exact test: level j = columns placed so far, node =
    remaining row margins.  A path's weight is Σ_j log(c_j!/Π_i x_ij!); exact shortest/longest
    remaining weights per node (memoised) let whole bundles of paths be resolved early."""

    def __init__(self, rows: tuple[int, ...], cols: list[int]) -> None:
        self.rows, self.cols = rows, cols
        self.lg = gammaln(np.arange(sum(rows) + 1) + 1.0)      # log k! lookup
        self.radix = np.cumprod([1] + [r + 1 for r in rows[:-1]]).astype(np.int64)
        self._comp: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = {}
        self._bound: dict[tuple[int, tuple[int, ...]], tuple[float, float]] = {}
        self._pen: dict[tuple[int, ...], np.ndarray] = {}

    def moves(self, j: int, rem: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        """Remaining margins after each possible column j (array (K, r)) and the column's log-weight."""
        key = (self.cols[j], rem)
        hit = self._comp.get(key)
        if hit is None:
            comps = _compositions(self.cols[j], rem)
            hit = (np.asarray(rem) - comps, self.lg[self.cols[j]] - self.lg[comps].sum(axis=1))
            self._comp[key] = hit
        return hit

    def penultimate(self, rem: tuple[int, ...]) -> np.ndarray:
        """Weights of the last two columns for every split, from a node one column before the end."""
        hit = self._pen.get(rem)
        if hit is None:
            last = len(self.cols) - 1
            after, lw = self.moves(last - 1, rem)
            hit = lw + self.lg[self.cols[last]] - self.lg[after].sum(axis=1)
            self._pen[rem] = hit
        return hit

    def bound(self, j: int, rem: tuple[int, ...]) -> tuple[float, float]:
        key = (j, rem)
        hit = self._bound.get(key)
        if hit is None:
            last = len(self.cols) - 1
            if j == last:                                   # the last column is forced: rem itself
                val = math.lgamma(self.cols[j] + 1) - sum(math.lgamma(r + 1) for r in rem)
                hit = (val, val)
            elif j == last - 1:                             # cheap outer bounds: columns taken separately
                lo1, hi1 = _column_extremes(self.cols[j], rem)
                lo2, hi2 = _column_extremes(self.cols[last], rem)
                hit = (lo1 + lo2, hi1 + hi2)
            else:
                after, lw = self.moves(j, rem)
                b = np.array([self.bound(j + 1, tuple(nr)) for nr in after.tolist()])
                hit = (float(np.min(lw + b[:, 0])), float(np.max(lw + b[:, 1])))
            self._bound[key] = hit
        return hit


def _network_sum(rows: tuple[int, ...], cols: list[int], const: float, obs_log: float) -> float:
    """Σ P(T) over tables with P(T) <= P(obs)(1 + 1e-7); paths carried as numpy arrays of
    (partial log-weight, multiplicity) per node, merged when equal to 1e-9."""
    net = _Network(rows, cols)
    limit = obs_log + math.log1p(1e-7) - const
    nodes: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {rows: (np.zeros(1), np.ones(1))}
    p = 0.0
    last = len(cols) - 1
    for j in range(last):
        codes, keys_out, mult_out, decode = [], [], [], {}
        for rem, (keys, mult) in nodes.items():
            lo, hi = net.bound(j, rem)
            done = keys + hi <= limit                        # every completion is as extreme: add all
            if done.any():
                total = math.lgamma(sum(rem) + 1) - sum(math.lgamma(r + 1) for r in rem)   # Vandermonde
                p += float(mult[done] @ np.exp(const + keys[done] + total))
            live = ~done & (keys + lo <= limit)
            if not live.any():
                continue
            keys, mult = keys[live], mult[live]
            if j == last - 1:                                # finish the last two columns directly
                final = keys[:, None] + net.penultimate(rem)[None, :]
                ok = final <= limit
                p += float(np.sum(np.where(ok, mult[:, None] * np.exp(const + np.where(ok, final, 0.0)), 0.0)))
                continue
            after, lw = net.moves(j, rem)
            code = after @ net.radix
            decode.update(zip(code.tolist(), map(tuple, after.tolist())))
            codes.append(np.repeat(code, keys.size))
            keys_out.append((lw[:, None] + keys[None, :]).ravel())
            mult_out.append(np.tile(mult, code.size))
        nodes = _merge(codes, keys_out, mult_out, decode)
    return p


def _merge(codes: list[np.ndarray], keys: list[np.ndarray], mults: list[np.ndarray],
           decode: dict[int, tuple[int, ...]]) -> dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]]:
    """Group child paths by node and merge equal partial weights (vectorised)."""
    if not codes:
        return {}
    c = np.concatenate(codes)
    k = np.round(np.concatenate(keys), 9)
    m = np.concatenate(mults)
    order = np.lexsort((k, c))
    c, k, m = c[order], k[order], m[order]
    new = np.r_[True, (c[1:] != c[:-1]) | (k[1:] != k[:-1])]
    idx = np.cumsum(new) - 1
    m = np.bincount(idx, weights=m)
    c, k = c[new], k[new]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    ends = np.r_[starts[1:], c.size]
    return {decode[int(c[s0])]: (k[s0:e0], m[s0:e0]) for s0, e0 in zip(starts, ends)}


def median_iqr(values: ArrayLike) -> dict[str, float | int]:
    """n, median, Q1, Q3, min, max with R's default quantile (type 7).  NaN values are dropped."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}  # type: ignore[dict-item]
    q1, med, q3 = quantile_type7(v, [0.25, 0.5, 0.75])
    return {"n": int(v.size), "median": float(med), "q1": float(q1), "q3": float(q3), "min": float(v.min()),
            "max": float(v.max())}


def _levels(groups: np.ndarray) -> list[Any]:
    uniq = pd.unique(groups)
    try:
        return sorted(uniq, key=float)
    except (TypeError, ValueError):
        return sorted(uniq, key=str)


@dataclass(frozen=True)
class GroupTestsResult:
    """A continuous value compared between groups (``cartlens stats groups``)."""

    levels: tuple[Any, ...]
    kruskal: TestResult
    mannwhitney: TestResult | None       # two groups only
    mannwhitney_auto_p: float | None     # p as R's default wilcox.test would choose (exact or normal)
    descriptives: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        return {"kruskal": self.kruskal.to_dict(),
                "mannwhitney": None if self.mannwhitney is None else self.mannwhitney.to_dict(),
                "mannwhitney_r_default_p": self.mannwhitney_auto_p,
                "levels": [str(x) for x in self.levels],
                "summary": {str(r["group"]): {k: r[k] for k in ("n", "median", "q1", "q3", "min", "max")}
                            for r in self.descriptives.to_dict(orient="records")}}

    def summary(self) -> pd.DataFrame:
        return self.descriptives


def group_tests(values: ArrayLike, groups: ArrayLike) -> GroupTestsResult:
    """Kruskal–Wallis (any K >= 2), Mann–Whitney (K = 2) and median (Q1, Q3) per group.

    Missing values (NaN value or missing group) are dropped pairwise, as R's formula interface does.
    """
    v = np.asarray(values, dtype=float).ravel()
    g = np.asarray(groups, dtype=object).ravel()
    if v.shape != g.shape:
        raise ValueError(f"values and groups differ in length: {v.size} vs {g.size}")
    keep = ~np.isnan(v) & ~pd.isna(g)
    v, g = v[keep], g[keep]
    levels = _levels(g)
    if len(levels) < 2:
        raise ValueError(f"need at least two groups, found {len(levels)}")
    samples = [v[g == lev] for lev in levels]
    mw = auto = None
    if len(levels) == 2:
        mw = mann_whitney(samples[0], samples[1])
        auto = mann_whitney(samples[0], samples[1], method="auto").p
    desc = pd.DataFrame([{"group": lev, **median_iqr(s)} for lev, s in zip(levels, samples)])
    return GroupTestsResult(levels=tuple(levels), kruskal=kruskal_wallis(*samples), mannwhitney=mw,
                            mannwhitney_auto_p=auto, descriptives=desc)


@dataclass(frozen=True)
class TableTestsResult:
    """A contingency table of two categorical variables (``cartlens stats table``)."""

    row_levels: tuple[Any, ...]
    col_levels: tuple[Any, ...]
    counts: np.ndarray
    chisq: TestResult
    fisher: TestResult

    def to_dict(self) -> dict[str, Any]:
        return {"chisq": self.chisq.to_dict(), "fisher": {"p": self.fisher.p},
                "rows": [str(x) for x in self.row_levels], "cols": [str(x) for x in self.col_levels],
                "counts": self.counts.tolist()}

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(self.counts, index=[str(x) for x in self.row_levels],
                            columns=[str(x) for x in self.col_levels])


def table_tests(row: ArrayLike, col: ArrayLike) -> TableTestsResult:
    """Cross-tabulate two categorical variables; χ² without correction and Fisher's exact test.

    Rows with a missing value in either variable are dropped (R ``table`` excludes NA).
    """
    r = np.asarray(row, dtype=object).ravel()
    c = np.asarray(col, dtype=object).ravel()
    if r.shape != c.shape:
        raise ValueError(f"row and col differ in length: {r.size} vs {c.size}")
    keep = ~pd.isna(r) & ~pd.isna(c)
    r, c = r[keep], c[keep]
    rl, cl = _levels(r), _levels(c)
    if len(rl) < 2 or len(cl) < 2:
        raise ValueError(f"need at least 2 levels in each variable, got {len(rl)} x {len(cl)}")
    counts = np.zeros((len(rl), len(cl)), dtype=np.int64)
    ri = {v: i for i, v in enumerate(rl)}
    ci = {v: i for i, v in enumerate(cl)}
    np.add.at(counts, ([ri[v] for v in r], [ci[v] for v in c]), 1)
    return TableTestsResult(row_levels=tuple(rl), col_levels=tuple(cl), counts=counts,
                            chisq=chisq_test(counts), fisher=fisher_exact_rxc(counts))
