"""R survival's generalised Cholesky routines (``cholesky2``, ``chsolve2``, ``chinv2``), transcribed.

``coxph`` solves its Newton steps and inverts its information matrix with these, not with LAPACK: a column
whose pivot falls below ``toler.chol`` times the largest diagonal is declared redundant, its step is 0 and its
row/column of the inverse is 0 (R then reports an NA coefficient). Reproducing them exactly is what makes
degenerate fits (near-collinear or separated covariates, tiny data) agree with R. Matrices are p x p with p the
number of covariates, so the loops run over covariates, never over subjects.

Source: Therneau T, survival 3.5-3, src/cholesky2.c, src/chsolve2.c, src/chinv2.c.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


def cholesky2(matrix: FloatArray, toler: float) -> tuple[FloatArray, int]:
    """FDF' decomposition in the lower triangle (D on the diagonal); returns (factor, rank or -rank)."""
    m = np.array(matrix, dtype=float, copy=True)
    n = m.shape[0]
    eps = max(0.0, float(np.max(np.diag(m)))) if n else 0.0
    m[np.tril_indices(n, -1)] = m.T[np.tril_indices(n, -1)]
    if eps == 0:
        return m, 0
    eps *= toler
    rank, nonneg = 0, 1
    for i in range(n):
        pivot = m[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            m[i, i] = 0.0
            if pivot < -8 * eps:
                nonneg = -1
            continue
        rank += 1
        for j in range(i + 1, n):
            temp = m[j, i] / pivot
            m[j, i] = temp
            m[j, j] -= temp * temp * pivot
            m[j + 1:, j] -= temp * m[j + 1:, i]
    return m, rank * nonneg


def chsolve2(factor: FloatArray, y: FloatArray) -> FloatArray:
    """Solve A b = y given ``cholesky2``'s factor of A; redundant columns get b = 0."""
    n = factor.shape[0]
    b = np.array(y, dtype=float, copy=True)
    for i in range(n):
        b[i] -= b[:i] @ factor[i, :i]
    for i in range(n - 1, -1, -1):
        if factor[i, i] == 0:
            b[i] = 0.0
        else:
            b[i] = b[i] / factor[i, i] - b[i + 1:] @ factor[i + 1:, i]
    return b


def chinv2(factor: FloatArray) -> FloatArray:
    """Inverse from ``cholesky2``'s factor (rows/columns of redundant columns are 0), symmetric."""
    m = np.array(factor, dtype=float, copy=True)
    n = m.shape[0]
    for i in range(n):
        if m[i, i] > 0:
            m[i, i] = 1.0 / m[i, i]
            for j in range(i + 1, n):
                m[j, i] = -m[j, i]
                m[j, :i] += m[j, i] * m[i, :i]
    for i in range(n):
        if m[i, i] == 0:
            m[:i, i] = 0.0
            m[i, i:] = 0.0
        else:
            for j in range(i + 1, n):
                temp = m[j, i] * m[j, j]
                m[i, j] = temp
                m[i, i:j] += temp * m[j, i:j]
    upper = np.triu(m)
    return upper + np.triu(m, 1).T


def _regular_cholesky(matrix: FloatArray, toler: float) -> FloatArray | None:
    """LAPACK Cholesky factor when every LDL pivot passes R's test (the common case), else None."""
    n = matrix.shape[0]
    if n == 0:
        return None
    eps = float(np.max(np.diag(matrix))) * toler
    if not np.isfinite(eps) or eps <= 0:
        return None
    try:
        low = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    pivots = np.diag(low) ** 2          # the D of R's FDF' decomposition, same elimination order
    return low.astype(float) if np.all(np.isfinite(pivots)) and np.all(pivots >= eps) else None


def solve(matrix: FloatArray, y: FloatArray, toler: float) -> FloatArray:
    """``chsolve2(cholesky2(matrix), y)``; LAPACK when no column is redundant (identical up to rounding)."""
    if _regular_cholesky(matrix, toler) is not None:
        return np.linalg.solve(matrix, y).astype(float)
    return chsolve2(cholesky2(matrix, toler)[0], y)


def inverse(matrix: FloatArray, toler: float) -> FloatArray:
    """``chinv2(cholesky2(matrix))``; LAPACK when no column is redundant (identical up to rounding)."""
    low = _regular_cholesky(matrix, toler)
    if low is not None:
        inv_low = np.linalg.inv(low)
        return inv_low.T @ inv_low
    return chinv2(cholesky2(matrix, toler)[0])
