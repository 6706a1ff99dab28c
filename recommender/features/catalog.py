"""Catalog filtering: the one place that decides which resources a request may return.

It sits with the features (the catalog as arrays) rather than in :mod:`recommender.delivery`
because evaluation's candidate rules and the time-aware models judge availability the same way.

The API, the batch export and learning plans all ask the same question, "which resources may
this learner get for this request?", so it is answered once, here, as a boolean mask over
``resource_idx``. :class:`CatalogArrays` turns the catalog frame into per-column numpy arrays
once (codes, bitmasks, integer timestamps); :meth:`CatalogArrays.mask` then costs a handful of
vectorised comparisons (well under a millisecond for a 100k catalog), and a request asking what
an earlier one asked (same filters, same learner constraints, no resource opened or closed in
between) gets the earlier answer from a bit-packed cache for the price of unpacking it.

Two kinds of conditions are combined (all of them must hold):

* **Request filters** (:class:`RequestFilters`): what the caller asked for, such as a category,
  mode, level, a maximum duration, required accessibility features, a provider type, "open on
  this date" or "open at some point in this date window".
* **Learner constraints** (:class:`LearnerProfile`), hard unless the request relaxes them:

  - *availability*: a scheduled resource (with ``available_from``/``available_until``) is only
    offered while its window is open at ``now``. If the request names ``open_at`` or an
    ``open_between`` window, that moment/window replaces ``now`` (a learner planning ahead).
    An empty bound is unbounded on that side; both empty = always open.
  - *place*: offline and blended resources only in the learner's region or a region adjacent
    to it (per the regions table); online resources everywhere. If the request names a
    ``region`` (the learner will be somewhere else), in-person resources must be exactly in that
    region instead. An in-person resource without a region, or a learner without a known
    region, cannot be placed, so the in-person resource is left out.
  - *language*: the resource's language must be one the learner lists (``relax_language``
    lifts it). A learner who lists none is not constrained; a resource without a language is
    kept (unknown is not the same as foreign; real catalogs often omit it).
  - *access*: see :data:`NEED_GROUPS` (``relax_access`` lifts it).

**How accessibility needs match features.** Learner needs and resource features share one
vocabulary (:data:`recommender.data.schema.ACCESSIBILITY_FEATURES`), and a need is met by the
feature of the same name ("captions" needs "captions"). Several needs often compensate for the
same barrier and a learner lists them as alternatives (a deaf learner: captions|sign_language;
a low-vision learner: large_print|audio), so needs are grouped by the barrier they address
(:data:`NEED_GROUPS`): a resource is accessible when, **for every barrier group the learner has
needs in, it offers at least one of the needs the learner listed in that group**. Features the
learner did not list never count (screen_reader does not stand in for large_print). A need with
no feature to check (a label outside the vocabulary, e.g. "mobility" from another data source)
cannot be enforced by the catalog: it is ignored by the mask and reported by
:meth:`LearnerProfile.unmatched_needs` so the caller can say so instead of pretending.
Request-level ``accessibility`` filters are stricter: every named feature is required.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timezone
from functools import cached_property
from typing import Any, overload

import numpy as np
import pandas as pd

from recommender.data.schema import (
    ACCESSIBILITY_FEATURES,
    LEVELS,
    LIST_SEPARATOR,
    MODES,
    NEED_GROUPS,
)
from recommender.checks import check_number, is_missing
from recommender.errors import InvalidParameterError

IN_PERSON_MODES: tuple[str, ...] = ("offline", "blended")

_FEATURE_BIT: dict[str, int] = {name: 1 << i for i, name in enumerate(ACCESSIBILITY_FEATURES)}
_MIN_TIME = np.iinfo(np.int64).min
_MAX_TIME = np.iinfo(np.int64).max
_CACHE_SIZE = 256  # learner-constraint masks kept per catalog (n_resources bytes each)
_MASK_CACHE_SIZE = 2048  # whole request masks kept per catalog, bit-packed (n_resources / 8)

Values = str | tuple[str, ...] | None
TimeLike = pd.Timestamp | str | None


def split_list(cell: object) -> tuple[str, ...]:
    """The members of a list cell ("a|b" string, list/tuple/array, or empty) as stripped strings."""
    if isinstance(cell, (list, tuple, np.ndarray)):
        items = [str(item) for item in cell]
    elif isinstance(cell, str):
        items = cell.split(LIST_SEPARATOR)
    else:  # None / NaN / pd.NA
        items = []
    return tuple(item.strip() for item in items if item and item.strip())


def to_timestamp(name: str, value: object) -> pd.Timestamp | None:
    """A UTC timestamp from a string or datetime (naive = UTC); None stays None."""
    if value is None:
        return None
    if isinstance(value, pd.Timestamp) and value.tzinfo is timezone.utc:
        return value  # already what is asked for (the per-request clock): skip the conversion
    try:
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidParameterError(
            name, value, "a timestamp (ISO 8601 string or datetime)"
        ) from None
    if pd.isna(stamp):
        raise InvalidParameterError(name, value, "a timestamp, not NaT")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _micros(stamp: pd.Timestamp) -> int:
    """Microseconds since the epoch, the unit of :class:`CatalogArrays` time columns."""
    return int(stamp.value // 1000)  # .value is nanoseconds


def _as_tuple(
    name: str, value: object, allowed: tuple[str, ...] | None = None
) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise InvalidParameterError(name, value, "a non-empty string or tuple of strings")
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidParameterError(name, bad[0], f"one of {list(allowed)}")
    return values


@dataclass(frozen=True)
class RequestFilters:
    """What a request asks for; every field is optional and each set field must hold.

    String fields accept one value or a tuple (any of them). ``accessibility`` lists features
    that must all be present. ``open_at`` keeps resources open at that moment; ``open_between``
    = ``(from, until)`` keeps those whose availability window overlaps it; either replaces
    ``now`` for the availability check. ``relax_access`` / ``relax_language`` lift the learner's
    accessibility and language constraints (the request's own filters still apply).
    """

    category: Values = None
    language: Values = None
    mode: Values = None
    region: str | None = None
    max_duration_minutes: float | None = None
    level: Values = None
    accessibility: tuple[str, ...] = ()
    open_at: TimeLike = None
    open_between: tuple[TimeLike, TimeLike] | None = None
    provider_type: Values = None
    relax_access: bool = False
    relax_language: bool = False

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "category", _as_tuple("category", self.category))
        put(self, "language", _as_tuple("language", self.language))
        put(self, "mode", _as_tuple("mode", self.mode, MODES))
        put(self, "level", _as_tuple("level", self.level, LEVELS))
        put(self, "provider_type", _as_tuple("provider_type", self.provider_type))
        put(self, "accessibility",
            _as_tuple("accessibility", self.accessibility or None, ACCESSIBILITY_FEATURES) or ())
        if self.region is not None and (not isinstance(self.region, str) or not self.region):
            raise InvalidParameterError("region", self.region, "a region id or None")
        if self.max_duration_minutes is not None:
            check_number("max_duration_minutes", self.max_duration_minutes)
        put(self, "open_at", to_timestamp("open_at", self.open_at))
        if self.open_between is not None:
            if not isinstance(self.open_between, (tuple, list)) or len(self.open_between) != 2:
                raise InvalidParameterError(
                    "open_between", self.open_between, "a (from, until) pair"
                )
            start = to_timestamp("open_between", self.open_between[0])
            end = to_timestamp("open_between", self.open_between[1])
            if start is not None and end is not None and end < start:
                raise InvalidParameterError("open_between", self.open_between, "from <= until")
            put(self, "open_between", (start, end))


@dataclass(frozen=True)
class LearnerProfile:
    """The learner-side facts the hard constraints need (a row of the learners table)."""

    region: str | None = None
    languages: tuple[str, ...] = ()
    accessibility_needs: tuple[str, ...] = ()
    credit_hours_required: float | None = None

    def __post_init__(self) -> None:
        put = object.__setattr__
        put(self, "languages", split_list(self.languages))
        put(self, "accessibility_needs", split_list(self.accessibility_needs))
        region = self.region
        put(self, "region", region if isinstance(region, str) and region else None)
        credit = self.credit_hours_required
        if not is_missing(credit):
            put(self, "credit_hours_required", check_number("credit_hours_required", credit))
        else:
            put(self, "credit_hours_required", None)

    @classmethod
    def from_row(cls, row: Mapping[str, Any] | pd.Series) -> LearnerProfile:
        """From one learners-table row (missing columns count as empty)."""
        get = row.get
        return cls(
            region=get("region"),
            languages=get("languages"),  # type: ignore[arg-type]
            accessibility_needs=get("accessibility_needs"),  # type: ignore[arg-type]
            credit_hours_required=get("credit_hours_required"),
        )

    def unmatched_needs(self) -> tuple[str, ...]:
        """Needs with no resource feature to check; the mask cannot enforce them."""
        return tuple(need for need in self.accessibility_needs if need not in _FEATURE_BIT)


class LearnerProfiles(Sequence[LearnerProfile]):
    """One :class:`LearnerProfile` per row of a learners frame, in row order, each built on
    first use: loading a million-learner bundle should not build a million profiles when a
    request or a batch chunk needs a few. The ``keep`` most recently used stay built (a batch
    export walks every learner once; keeping them all made its memory grow with the platform).
    """

    _COLUMNS = ("region", "languages", "accessibility_needs", "credit_hours_required")

    def __init__(self, learners: pd.DataFrame, keep: int = 65_536) -> None:
        self._values = [
            learners[c].to_numpy(dtype=object) if c in learners.columns else None
            for c in self._COLUMNS
        ]
        self._n = len(learners)
        self._keep = max(1, int(keep))
        self._built: OrderedDict[int, LearnerProfile] = OrderedDict()

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, row: int) -> LearnerProfile: ...
    @overload
    def __getitem__(self, row: slice) -> list[LearnerProfile]: ...

    def __getitem__(self, row: int | slice) -> LearnerProfile | list[LearnerProfile]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self._n))]
        row = int(row)
        if not -self._n <= row < self._n:
            raise IndexError(f"learner row {row} out of range for {self._n} learners")
        row %= self._n
        profile = self._built.get(row)
        if profile is not None:
            self._built.move_to_end(row)
            return profile
        profile = self._built[row] = LearnerProfile(
            *(None if values is None else values[row] for values in self._values))
        if len(self._built) > self._keep:
            self._built.popitem(last=False)
        return profile


def learner_profiles(learners: pd.DataFrame) -> LearnerProfiles:
    """One :class:`LearnerProfile` per row of a learners frame, in row order (built lazily)."""
    return LearnerProfiles(learners)


@dataclass(frozen=True)
class _Codes:
    """A string column as int32 codes (-1 = missing) plus its vocabulary."""

    codes: np.ndarray
    index: dict[str, int]

    @classmethod
    def of(cls, values: Iterable[object], extra: Iterable[str] = ()) -> _Codes:
        series = pd.Series(list(values) if not isinstance(values, pd.Series) else values,
                           dtype=object)
        series = series.where(series.notna() & (series.astype(str) != ""), None)
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
        vocabulary = [str(v) for v in uniques]
        vocabulary += sorted(set(extra) - set(vocabulary))
        return cls(codes.astype(np.int32), {value: i for i, value in enumerate(vocabulary)})

    @cached_property
    def names(self) -> np.ndarray:
        """The vocabulary by code, ``""`` in the last slot (so code -1, missing, picks it)."""
        by_code = [""] * (len(self.index) + 1)
        for value, code in self.index.items():
            by_code[code] = value
        return np.array(by_code, dtype=object)

    def lookup(self, values: Iterable[str], missing: bool = False) -> np.ndarray:
        """A table over codes (last slot = missing) that is True for ``values``."""
        table = np.zeros(len(self.index) + 1, dtype=bool)
        for value in values:
            if value in self.index:
                table[self.index[value]] = True
        table[-1] = missing
        return table

    def isin(self, values: Iterable[str], missing: bool = False) -> np.ndarray:
        return self.lookup(values, missing)[self.codes]


def _times(column: pd.Series | None, n: int, missing: int) -> np.ndarray:
    """A timestamp column as int64 microseconds since the epoch, ``missing`` where empty."""
    if column is None:
        return np.full(n, missing, dtype=np.int64)
    stamps = pd.to_datetime(column, utc=True)
    micros = stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[us]").view(np.int64).copy()
    micros[stamps.isna().to_numpy()] = missing
    return micros


def _feature_bits(cells: pd.Series) -> np.ndarray:
    """Accessibility cells as bitmasks over ACCESSIBILITY_FEATURES (unknown labels ignored)."""
    codes, uniques = pd.factorize(pd.Series(cells, dtype=object).map(split_list))
    bits = np.array([sum(_FEATURE_BIT.get(f, 0) for f in set(u)) for u in uniques] + [0],
                    dtype=np.int64)
    return bits[codes]  # code -1 (missing) picks the trailing 0


@dataclass(frozen=True)
class CatalogArrays:
    """The catalog as per-column arrays aligned with resource_idx; build once, mask per request.

    Built by :meth:`build` from the resources frame (row i = resource_idx i, e.g.
    ``FeatureSet.resources``) and the optional regions adjacency table.
    """

    n_resources: int
    category: _Codes
    language: _Codes
    mode: _Codes
    region: _Codes
    level: _Codes
    provider_type: _Codes
    duration_minutes: np.ndarray  # float64, NaN = unknown
    credit_hours: np.ndarray  # float64, 0 where empty
    features: np.ndarray  # int64 bitmask over ACCESSIBILITY_FEATURES
    open_from: np.ndarray  # int64 microseconds, int64 min when unbounded
    open_until: np.ndarray  # int64 microseconds, int64 max when unbounded
    near: np.ndarray = field(repr=False)  # (n_regions, n_regions) bool: same region or adjacent
    in_person: np.ndarray = field(repr=False)  # bool: offline or blended
    _cache: dict[tuple, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _masks: dict[tuple, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _time_bounds: list[np.ndarray] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    @classmethod
    def build(cls, resources: pd.DataFrame, regions: pd.DataFrame | None = None) -> CatalogArrays:
        """Per-column arrays from a resources frame and a (region, neighbour) table."""
        n = len(resources)

        def column(name: str) -> pd.Series:
            if name in resources.columns:
                return resources[name].reset_index(drop=True)
            return pd.Series([None] * n, dtype=object)

        adjacency = [] if regions is None else list(
            zip(regions["region"].astype(str), regions["neighbour"].astype(str))
        )
        region = _Codes.of(column("region"), extra=[r for pair in adjacency for r in pair])
        near = np.eye(len(region.index), dtype=bool)
        for home, neighbour in adjacency:  # adjacency is symmetric whichever way it is listed
            near[region.index[home], region.index[neighbour]] = True
            near[region.index[neighbour], region.index[home]] = True
        mode = _Codes.of(column("mode"))
        duration = pd.to_numeric(column("duration_minutes"), errors="coerce").to_numpy(np.float64)
        credit = pd.to_numeric(column("credit_hours"), errors="coerce").to_numpy(np.float64)
        return cls(
            n_resources=n,
            category=_Codes.of(column("category")),
            language=_Codes.of(column("language")),
            mode=mode,
            region=region,
            level=_Codes.of(column("level")),
            provider_type=_Codes.of(column("provider_type")),
            duration_minutes=duration,
            credit_hours=np.nan_to_num(credit, nan=0.0),
            features=_feature_bits(column("accessibility")),
            open_from=_times(column("available_from"), n, _MIN_TIME),
            open_until=_times(column("available_until"), n, _MAX_TIME),
            near=near,
            in_person=mode.isin(IN_PERSON_MODES),
        )

    def region_code(self, region: str | None) -> int:
        """The code of a region id, -1 when unknown (then nothing in-person is near it)."""
        return -1 if region is None else self.region.index.get(region, -1)

    def mask(
        self,
        filters: RequestFilters | None = None,
        profile: LearnerProfile | None = None,
        *,
        now: TimeLike,
    ) -> np.ndarray:
        """Boolean mask over resource_idx: True where the resource may be returned.

        ``now`` is the request time for the availability constraint; pass None only to skip
        it deliberately (e.g. browsing a catalog without schedules). ``profile`` None applies
        only the request filters (an anonymous request). See the module docstring for rules.
        """
        filters = filters or RequestFilters()
        moment = to_timestamp("now", now)
        key = self._mask_key(filters, profile, moment)
        packed = self._masks.get(key)
        if packed is not None:
            return np.unpackbits(packed, count=self.n_resources).view(bool)
        keep = self._computed_mask(filters, profile, moment)
        if len(self._masks) >= _MASK_CACHE_SIZE:
            try:
                self._masks.pop(next(iter(self._masks)), None)  # the oldest entry
            except (RuntimeError, StopIteration):  # another thread changed it meanwhile
                self._masks.clear()
        self._masks[key] = np.packbits(keep)
        return keep

    def _mask_key(
        self, filters: RequestFilters, profile: LearnerProfile | None, now: pd.Timestamp | None
    ) -> tuple:
        """Everything :meth:`mask` depends on. The request time enters only as the interval
        between two consecutive window bounds of the catalog that holds it: within one such
        interval no resource opens or closes, so the availability part cannot differ."""
        moment = filters.open_at if filters.open_at is not None else (
            now if filters.open_between is None else None)
        when = None if moment is None else self._time_interval(_micros(moment))
        return (when, filters.open_between, filters.category, filters.language, filters.mode,
                filters.max_duration_minutes, filters.level, filters.accessibility,
                filters.provider_type, self._learner_key(filters, profile))

    def _time_interval(self, at: int) -> int:
        """Which interval between consecutive opening / closing instants holds ``at``
        (a resource is open on ``[open_from, open_until]``, so it changes state at
        ``open_from`` and at ``open_until + 1``)."""
        if not self._time_bounds:
            starts = self.open_from[self.open_from != _MIN_TIME]
            ends = self.open_until[self.open_until != _MAX_TIME] + 1
            self._time_bounds.append(np.unique(np.concatenate([starts, ends])))
        return int(np.searchsorted(self._time_bounds[0], at, side="right"))

    def _computed_mask(
        self, filters: RequestFilters, profile: LearnerProfile | None, now: pd.Timestamp | None
    ) -> np.ndarray:
        """The mask worked out from the arrays (what the cache holds, bit-packed)."""
        keep = self._available(filters, now)
        for name in ("category", "language", "mode", "level", "provider_type"):
            wanted = getattr(filters, name)
            if wanted is not None:
                keep &= getattr(self, name).isin(wanted)
        if filters.max_duration_minutes is not None:
            keep &= self.duration_minutes <= filters.max_duration_minutes  # NaN fails: unknown
        if filters.accessibility:
            required = sum(_FEATURE_BIT[f] for f in filters.accessibility)
            keep &= (self.features & required) == required
        keep &= self._learner_part(filters, profile)
        return keep

    def _learner_part(self, filters: RequestFilters, profile: LearnerProfile | None) -> np.ndarray:
        """Place, language and access together, cached: learners share few distinct answers
        (a region, a language set, a set of needs), so most requests reuse one (read-only)."""
        key = self._learner_key(filters, profile)
        _, _, languages, needs = key
        cached = self._cache.get(key)
        if cached is None:
            cached = self._placed(filters, profile)
            if languages is not None:
                cached &= self.language.isin(languages, missing=True)
            if needs is not None:
                cached &= self.accessible(needs)
            cached.setflags(write=False)
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    @staticmethod
    def _learner_key(filters: RequestFilters, profile: LearnerProfile | None) -> tuple:
        """What the place, language and access part depends on."""
        place = ("request", filters.region) if filters.region is not None else (
            "home", None if profile is None else profile.region)
        languages = None
        if profile is not None and not filters.relax_language and profile.languages:
            languages = tuple(sorted(set(profile.languages)))
        needs = None
        if profile is not None and not filters.relax_access and profile.accessibility_needs:
            needs = tuple(sorted(set(profile.accessibility_needs)))
        return (place, profile is None, languages, needs)

    def accessible(self, needs: Iterable[str]) -> np.ndarray:
        """Resources meeting ``needs`` under the barrier-group rule (see :data:`NEED_GROUPS`)."""
        bits = sum(_FEATURE_BIT.get(need, 0) for need in set(needs))
        keep = np.ones(self.n_resources, dtype=bool)
        for group in NEED_GROUPS.values():
            wanted = bits & sum(_FEATURE_BIT[f] for f in group)
            if wanted:
                keep &= (self.features & wanted) != 0
        return keep

    def _available(self, filters: RequestFilters, now: pd.Timestamp | None) -> np.ndarray:
        keep = np.ones(self.n_resources, dtype=bool)
        moment = filters.open_at if filters.open_at is not None else None
        if filters.open_between is None and moment is None:
            moment = now
        if moment is not None:
            at = _micros(moment)
            keep &= (self.open_from <= at) & (at <= self.open_until)
        if filters.open_between is not None:
            start, end = filters.open_between
            if end is not None:
                keep &= self.open_from <= _micros(end)
            if start is not None:
                keep &= self.open_until >= _micros(start)
        return keep

    def _placed(self, filters: RequestFilters, profile: LearnerProfile | None) -> np.ndarray:
        """Online anywhere; in-person only in the requested region, or near the learner's."""
        if filters.region is not None:
            code = self.region_code(filters.region)
            return ~self.in_person | ((self.region.codes == code) & (code >= 0))
        if profile is None:
            return np.ones(self.n_resources, dtype=bool)
        code = self.region_code(profile.region)
        if code < 0:
            return ~self.in_person
        near = np.append(self.near[code], False)  # last slot: resource without a region
        return ~self.in_person | near[self.region.codes]

    def local_to(self, region: str | None) -> np.ndarray:
        """Per resource: in person (offline or blended) in or next to ``region``, the places a
        learner there can walk into (none for an unknown region). Equal service and the
        exposure count ask it of every list: computed once per region and kept, read-only."""
        key = ("local", self.region_code(region))
        found = self._cache.get(key)
        if found is None:
            found = self.in_person & self.near_learner(region)
            found.flags.writeable = False
            if len(self._cache) >= _CACHE_SIZE:
                self._cache.clear()
            self._cache[key] = found
        return found

    def near_learner(self, region: str | None) -> np.ndarray:
        """Resources in ``region`` or an adjacent one (any mode); none for an unknown region."""
        code = self.region_code(region)
        if code < 0:
            return np.zeros(self.n_resources, dtype=bool)
        return np.append(self.near[code], False)[self.region.codes]
