"""Lesion segmentation for metabolic tumour volume: SUV >= 4.0 and 41 % of each lesion's SUVmax.

Spec: pet_quantification.md §0 (inclusive thresholds), §2.1 (SUV 4.0), §2.2 (41 % per lesion),
§2.3 (connectivity 6/18/26, default 26), §2.4 (exclusion masks: component-level removal).
Connected components: cc3d (``connected-components-3d``), 3-10x faster than scipy.ndimage.label
on PET volumes (§4.2).  Per-component statistics use the foreground index list and bincount, never
a per-label loop over the full volume (§4.2 "avoid").

References
----------
* Barrington SF et al., J Nucl Med 2021;62:332-7 (PETRA: SUV 4.0 for DLBCL baseline MTV).
* Boellaard R et al., J Nucl Med 2024 (international TMTV benchmark: SUV >= 4, >= 3 cm3 preselection).
* Meignan M, Cottereau AS et al. (LYSA/REMARC): 41 % SUVmax per lesion; Cottereau AS et al.,
  J Nucl Med 2020;61:40-5 (Dmax on 41 % regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cc3d
import numpy as np

from cartlens.pet.errors import PETInputError
from cartlens.pet.volume import SUVVolume

SUV4_THRESHOLD = 4.0            # §2.1
PCT41_FRACTION = 0.41           # §2.2
PCT41_MARGIN_MM = 12.0          # §2.2: search VOI margin, recommended 10-15 mm
EXCLUDE_FRACTION = 0.5          # §2.4: remove a component when >= 50 % lies in an excluded organ
LARGE_COMPONENT_ML = 500.0      # §2.4: flag components above ~500 mL for review


@dataclass(frozen=True, slots=True)
class RemovedComponent:
    """A component dropped by the exclusion mask or the minimum-volume filter (for physician review)."""

    reason: Literal["excluded_organ", "below_min_volume"]
    volume_ml: float
    suvmax: float
    organ: int | None               # label of the exclusion mask with the largest overlap
    excluded_fraction: float

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "volume_ml": self.volume_ml, "suvmax": self.suvmax,
                "organ": self.organ, "excluded_fraction": self.excluded_fraction}


@dataclass(frozen=True, slots=True)
class Segmentation:
    """Lesion labels and the parameters that produced them.

    Attributes
    ----------
    labels : numpy.ndarray, uint32, shape (z, y, x)
        0 = background, 1..n_lesions = lesions (read-only).
    method : {"suv4", "pct41"}
    connectivity : {6, 18, 26}
    min_volume_ml : float
        Components with volume < this were removed (listed in ``removed``).
    removed : tuple of RemovedComponent
    flags : tuple of str
        Review flags: ``straddles_exclusion:<id>``, ``large_component:<id>``.
    """

    labels: np.ndarray
    method: str
    connectivity: int
    min_volume_ml: float
    threshold: float
    removed: tuple[RemovedComponent, ...] = ()
    flags: tuple[str, ...] = ()
    margin_mm: float | None = None
    foreground: Foreground | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.labels.flags.writeable = False
        if self.foreground is None:
            object.__setattr__(self, "foreground", Foreground.of(self.labels, int(self.labels.max(initial=0))))

    @property
    def n_lesions(self) -> int:
        """Number of labels with at least one voxel."""
        return int(np.count_nonzero(self.foreground.counts[1:]))  # type: ignore[union-attr]

    def parameters(self) -> dict[str, Any]:
        """The method parameters that every output row carries (§0)."""
        return {"method": self.method, "threshold": self.threshold, "connectivity": self.connectivity,
                "min_volume_ml": self.min_volume_ml, "pct41_margin_mm": self.margin_mm,
                "exclusion_mask": any(r.reason == "excluded_organ" for r in self.removed)
                or any(f.startswith("straddles") for f in self.flags)}


def _check(volume: SUVVolume, connectivity: int, min_volume_ml: float, exclude_mask: np.ndarray | None) -> None:
    if connectivity not in (6, 18, 26):
        raise PETInputError("connectivity", f"must be 6, 18 or 26, got {connectivity!r}")
    if not np.isfinite(min_volume_ml) or min_volume_ml < 0:
        raise PETInputError("min_volume_ml", f"must be >= 0, got {min_volume_ml!r}")
    if exclude_mask is not None and np.shape(exclude_mask) != volume.data.shape:
        raise PETInputError("exclude_mask", f"shape {np.shape(exclude_mask)} differs from the volume "
                            f"{volume.data.shape} (z, y, x)")


@dataclass(frozen=True, slots=True)
class Foreground:
    """Lesion voxels as flat indices sorted by label, with voxel counts per label (index 0 unused).

    Built with one pass over the volume; every later statistic, relabelling and bounding box works on
    these arrays (size = number of lesion voxels), never on the full volume per label (§4.2).
    """

    index: np.ndarray            # flat indices into the (z, y, x) volume, grouped by label 1..n
    label: np.ndarray            # label of each entry of ``index`` (non-decreasing)
    counts: np.ndarray           # voxels per label, length n + 1

    @classmethod
    def of(cls, labels: np.ndarray, n: int, mask: np.ndarray | None = None) -> Foreground:
        """Index of ``labels`` (``mask`` = ``labels > 0`` when the caller has it: 10x cheaper to scan)."""
        flat = labels.reshape(-1)
        # np.flatnonzero on a bool array is ~7x faster than on uint32 labels (measured here)
        fg = np.flatnonzero(mask.reshape(-1) if mask is not None else flat != 0)
        lab = flat[fg]
        order = np.argsort(lab, kind="stable")
        return cls(fg[order], lab[order], np.bincount(lab, minlength=n + 1))

    @property
    def starts(self) -> np.ndarray:
        """Start of each label's run in ``index`` (length n + 1; label i is starts[i-1]:starts[i])."""
        return np.concatenate(([0], np.cumsum(self.counts[1:])))

    def reduce(self, ufunc: np.ufunc, values: np.ndarray, empty: float) -> np.ndarray:
        """``ufunc.reduceat`` of the volume ``values`` over each label; ``empty`` where a label has no voxel."""
        out = np.full(len(self.counts), empty, dtype=np.float64)
        vals = values.reshape(-1)[self.index]
        nonempty = self.counts[1:] > 0
        if self.index.size:
            out[1:][nonempty] = ufunc.reduceat(vals.astype(np.float64), self.starts[:-1][nonempty])
        return out

    def boxes(self, shape: tuple[int, ...]) -> list[tuple[slice, ...] | None]:
        """Bounding box of every label 1..n (as ``scipy.ndimage.find_objects``), from the index list."""
        coords = np.stack(np.unravel_index(self.index, shape), axis=1)
        nonempty = self.counts[1:] > 0
        out: list[tuple[slice, ...] | None] = [None] * (len(self.counts) - 1)
        if self.index.size:
            st = self.starts[:-1][nonempty]
            lo = np.minimum.reduceat(coords, st, axis=0)
            hi = np.maximum.reduceat(coords, st, axis=0) + 1
            for i, a, b in zip(np.flatnonzero(nonempty), lo, hi):
                out[i] = tuple(slice(int(x), int(y)) for x, y in zip(a, b))
        return out

    def relabel(self, labels: np.ndarray, keep: np.ndarray) -> Foreground:
        """Renumber kept labels to 1..K in order and zero the others, **in place** on ``labels``."""
        lut = np.zeros(len(keep), dtype=np.uint32)
        lut[np.flatnonzero(keep)] = np.arange(1, int(keep.sum()) + 1, dtype=np.uint32)
        new = lut[self.label]
        if not labels.flags.c_contiguous:                  # reshape would copy and the write would be lost
            raise ValueError("labels must be C-contiguous for in-place relabelling")
        labels.reshape(-1)[self.index] = new
        stay = new > 0
        return Foreground(self.index[stay], new[stay], np.concatenate(([0], self.counts[keep])).astype(np.int64))


def _exclusion(fgd: Foreground, shape: tuple[int, ...], exclude: np.ndarray | None, dilate: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Fraction of each component inside the exclusion mask dilated by ``dilate`` voxels, and the organ
    label with the largest direct overlap.

    The dilation (6-neighbour cross iterated ``dilate`` times = all offsets with |dz|+|dy|+|dx| <= dilate,
    as ``scipy.ndimage.binary_dilation``) is evaluated only at foreground voxels, by gathering the mask
    at each offset: work proportional to the lesion voxels, not to the volume.
    """
    n = len(fgd.counts) - 1
    frac = np.zeros(n + 1)
    organ = np.zeros(n + 1, dtype=np.int64)
    if exclude is None or n == 0:
        return frac, organ
    ex = np.asarray(exclude).reshape(-1)
    fg, lab = fgd.index, fgd.label
    direct = ex[fg]
    inside = direct > 0
    coords = np.unravel_index(fg, shape)
    rng = range(-dilate, dilate + 1)
    for off in ((a, b, c) for a in rng for b in rng for c in rng if 0 < abs(a) + abs(b) + abs(c) <= dilate):
        moved = [ci + oi for ci, oi in zip(coords, off)]
        ok = np.ones(fg.size, dtype=bool)
        for m, dim in zip(moved, shape):
            ok &= (m >= 0) & (m < dim)
        idx = np.ravel_multi_index(tuple(np.clip(m, 0, dim - 1) for m, dim in zip(moved, shape)), shape)
        inside |= ok & (ex[idx] > 0)
    frac[1:] = np.bincount(lab[inside], minlength=n + 1)[1:] / np.maximum(fgd.counts[1:], 1)
    hit = direct > 0
    if hit.any():
        n_org = int(direct.max()) + 1
        pairs = lab[hit].astype(np.int64) * n_org + direct[hit].astype(np.int64)
        uniq, cnt = np.unique(pairs, return_counts=True)
        comp, org = np.divmod(uniq, n_org)
        best = np.zeros(n + 1)
        for c, o, k in zip(comp, org, cnt):              # (component, organ) pairs, not voxels
            if k > best[c]:
                best[c], organ[c] = k, o
    return frac, organ


def threshold_components(volume: SUVVolume, *, threshold: float = SUV4_THRESHOLD, connectivity: int = 26,
                         exclude_mask: np.ndarray | None = None, exclude_dilation_voxels: int = 1,
                         ) -> tuple[np.ndarray, Foreground, list[RemovedComponent], list[str]]:
    """Components of ``suv >= threshold`` (inclusive) after component-level exclusion (§2.1, §2.4)."""
    mask = volume.data >= threshold
    labels, n = cc3d.connected_components(  # type: ignore[call-overload]
        mask, connectivity=connectivity, return_N=True, out_dtype=np.uint32)
    fgd = Foreground.of(labels, n, mask)
    if exclude_mask is None:
        return labels, fgd, [], []
    v_ml = volume.voxel_volume_ml
    frac, organ = _exclusion(fgd, labels.shape, exclude_mask, exclude_dilation_voxels)
    vmax = fgd.reduce(np.maximum, volume.data, -np.inf)
    keep = np.ones(n + 1, dtype=bool)
    keep[0] = False
    removed: list[RemovedComponent] = []
    flags: list[str] = []
    for i in np.flatnonzero(frac[1:] >= EXCLUDE_FRACTION) + 1:
        keep[i] = False
        removed.append(RemovedComponent("excluded_organ", float(fgd.counts[i] * v_ml), float(vmax[i]),
                                        int(organ[i]) or None, float(frac[i])))
    kept_ids = np.cumsum(keep)
    flags += [f"straddles_exclusion:{int(kept_ids[i])}" for i in np.flatnonzero(keep)
              if 0 < frac[i] < EXCLUDE_FRACTION]
    return labels, fgd.relabel(labels, keep), removed, flags


def _grow_pct41(volume: SUVVolume, seeds: Foreground, buffer: np.ndarray, connectivity: int, fraction: float,
                margin_mm: float, blocked: np.ndarray | None = None) -> tuple[np.ndarray, Foreground]:
    """Per seed: threshold its search VOI at fraction x SUVmax, keep the part connected to the max (§2.2).

    Seeds are processed in decreasing SUVmax and only claim unclaimed voxels, so a voxel in two
    regions goes to the lesion with the higher SUVmax and is counted once.  ``buffer`` (the seed label
    array, uint32, owned by the caller) is cleared and reused for the output: a fresh 96 MB array would
    cost more in page faults than the whole growth.  Voxels of ``blocked`` (the exclusion mask) are
    never grown into, so a lesion next to the bladder does not take the bladder at 41 % of its SUVmax.
    A seed whose maximum voxel was already claimed gets no region (then dropped as empty).
    """
    data = volume.data
    out = buffer
    out.reshape(-1)[seeds.index] = 0
    boxes = seeds.boxes(data.shape)
    margin = np.ceil(margin_mm / np.asarray(volume.spacing_mm)).astype(int)
    vmax = seeds.reduce(np.maximum, data, -np.inf)
    starts = seeds.starts
    flat = data.reshape(-1)
    grown: dict[int, np.ndarray] = {}
    for lid in np.argsort(-vmax[1:], kind="stable") + 1:
        if boxes[lid - 1] is None:
            continue
        members = seeds.index[starts[lid - 1]:starts[lid]]
        peak = np.unravel_index(members[np.argmax(flat[members])], data.shape)
        box = tuple(slice(max(s.start - m, 0), min(s.stop + m, dim))
                    for s, m, dim in zip(boxes[lid - 1], margin, data.shape))
        # inclusive threshold (§0), compared at the data's float32 precision so that a voxel holding
        # float32(0.41 x SUVmax) is in the region
        cand = (data[box] >= np.float32(fraction * vmax[lid])) & (out[box] == 0)
        local_peak = tuple(p - s.start for p, s in zip(peak, box))
        if blocked is not None:
            cand &= ~blocked[box]
            cand[local_peak] = out[box][local_peak] == 0          # the seed's own maximum stays a seed
        if not cand[local_peak]:
            continue
        cc = cc3d.connected_components(cand, connectivity=connectivity, out_dtype=np.uint32)  # type: ignore[call-overload]
        region = cc == cc[local_peak]
        out[box][region] = lid
        local = np.nonzero(region)
        grown[int(lid)] = np.ravel_multi_index(tuple(c + s.start for c, s in zip(local, box)), data.shape)
    n = len(seeds.counts) - 1
    ids = sorted(grown)
    index = np.concatenate([np.sort(grown[i]) for i in ids]) if ids else np.zeros(0, dtype=np.int64)
    label = np.repeat(np.asarray(ids, dtype=np.uint32), [grown[i].size for i in ids])
    return out, Foreground(index, label, np.bincount(label, minlength=n + 1))


def _seed_labels(seeds: np.ndarray, connectivity: int) -> tuple[np.ndarray, Foreground]:
    arr = np.asarray(seeds)
    if arr.dtype == bool:
        labels, n = cc3d.connected_components(  # type: ignore[call-overload]
            arr, connectivity=connectivity, return_N=True, out_dtype=np.uint32)
    else:
        labels = np.array(arr, dtype=np.uint32)          # a copy: relabelling works in place
        n = int(labels.max(initial=0))
    return labels, Foreground.of(labels, n)


def segment(volume: SUVVolume, *, method: Literal["suv4", "pct41"] = "suv4", connectivity: int = 26,
            min_volume_ml: float = 0.0, exclude_mask: np.ndarray | None = None,
            threshold: float = SUV4_THRESHOLD, fraction: float = PCT41_FRACTION,
            margin_mm: float = PCT41_MARGIN_MM, seeds: np.ndarray | None = None,
            exclude_dilation_voxels: int = 1) -> Segmentation:
    """Segment lesions for MTV.

    Parameters
    ----------
    volume : SUVVolume
    method : {"suv4", "pct41"}
        ``"suv4"``: voxels with SUV >= ``threshold`` (4.0), connected components (§2.1).
        ``"pct41"``: one region per seed grown at >= ``fraction`` (0.41) x the seed's SUVmax inside
        the seed's bounding box dilated by ``margin_mm`` (§2.2).  Seeds default to the SUV >= 4.0
        components (after exclusion); an external ``seeds`` array (bool mask or labels) may be given.
    connectivity : {6, 18, 26}
        Face / +edge / +corner neighbours (§2.3); default 26.
    min_volume_ml : float
        Lesions with volume < this (mL) are removed and listed (3.0 = benchmark TMTV1 preselection).
    exclude_mask : array of bool or int labels, shape (z, y, x), optional
        Physiological-uptake organs; a component >= 50 % inside (mask dilated by
        ``exclude_dilation_voxels``) is removed and listed, one partly inside is kept and flagged.

    Returns
    -------
    Segmentation
    """
    _check(volume, connectivity, min_volume_ml, exclude_mask)
    if method not in ("suv4", "pct41"):
        raise PETInputError("method", f"must be 'suv4' or 'pct41', got {method!r}")
    if seeds is not None and np.shape(seeds) != volume.data.shape:
        raise PETInputError("seeds", f"shape {np.shape(seeds)} differs from the volume {volume.data.shape}")
    removed: list[RemovedComponent] = []
    flags: list[str] = []
    if seeds is None or method == "suv4":
        labels, fgd, removed, flags = threshold_components(
            volume, threshold=threshold, connectivity=connectivity, exclude_mask=exclude_mask,
            exclude_dilation_voxels=exclude_dilation_voxels)
    else:
        labels, fgd = _seed_labels(seeds, connectivity)
    if method == "pct41":
        blocked = None if exclude_mask is None else np.asarray(exclude_mask).reshape(volume.data.shape) > 0
        labels, fgd = _grow_pct41(volume, fgd, labels, connectivity, fraction, margin_mm, blocked)
    v_ml = volume.voxel_volume_ml
    counts = fgd.counts
    keep = (counts * v_ml >= min_volume_ml) & (counts > 0)
    keep[0] = False
    if not keep[1:].all():
        vmax = fgd.reduce(np.maximum, volume.data, -np.inf)
        removed += [RemovedComponent("below_min_volume", float(counts[i] * v_ml), float(vmax[i]), None, 0.0)
                    for i in np.flatnonzero((~keep[1:]) & (counts[1:] > 0)) + 1]
        fgd = fgd.relabel(labels, keep)
    new_ids = np.cumsum(keep)
    flags = [_renumber(f, new_ids) for f in flags if keep[int(f.rsplit(":", 1)[1])]]
    flags += [f"large_component:{int(new_ids[i])}" for i in np.flatnonzero(keep)
              if counts[i] * v_ml > LARGE_COMPONENT_ML]
    return Segmentation(labels, method, connectivity, float(min_volume_ml),
                        threshold if method == "suv4" else fraction, tuple(removed), tuple(flags),
                        margin_mm if method == "pct41" else None, fgd)


def _renumber(flag: str, new_ids: np.ndarray) -> str:
    name, old = flag.rsplit(":", 1)
    return f"{name}:{int(new_ids[int(old)])}"
