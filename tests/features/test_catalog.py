"""Catalog filtering: request filters and the learner's hard constraints as one mask."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data.sample_world import generate_world
from recommender.data.schema import ACCESSIBILITY_FEATURES, LIST_SEPARATOR
from recommender.delivery import NEED_GROUPS, CatalogArrays, LearnerProfile, RequestFilters, learner_profiles
from recommender.features.catalog import LearnerProfiles
from recommender.errors import InvalidParameterError

NOW = pd.Timestamp("2024-06-15", tz="UTC")
REGIONS = pd.DataFrame({"region": ["a", "b", "c"], "neighbour": ["b", "c", "d"]})  # a-b-c-d chain


def catalog(**columns: list) -> pd.DataFrame:
    """A resources frame with sensible defaults for the columns not given."""
    n = len(next(iter(columns.values())))
    frame = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(n)],
        "category": ["literacy"] * n,
        "language": ["zh"] * n,
        "mode": ["online"] * n,
        "region": [None] * n,
        "duration_minutes": [60.0] * n,
        "credit_hours": [0.0] * n,
        "level": ["beginner"] * n,
        "provider_type": ["enterprise"] * n,
        "accessibility": [None] * n,
        "available_from": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
        "available_until": pd.Series([pd.NaT] * n, dtype="datetime64[us, UTC]"),
    })
    for name, values in columns.items():
        frame[name] = pd.Series(values, dtype=frame[name].dtype if name in frame else object)
    return frame


def allowed(frame: pd.DataFrame, profile: LearnerProfile | None = None,
            filters: RequestFilters | None = None, now: object = NOW) -> list[int]:
    return np.flatnonzero(CatalogArrays.build(frame, REGIONS).mask(filters, profile, now=now)).tolist()


def stamps(*values: str | None) -> pd.Series:
    return pd.Series([pd.Timestamp(v, tz="UTC") if v else pd.NaT for v in values],
                     dtype="datetime64[us, UTC]")


class TestAvailability:
    def test_closed_scheduled_courses_never_appear(self) -> None:
        frame = catalog(
            available_from=stamps("2024-01-01", "2024-07-01", None, "2024-06-01", None),
            available_until=stamps("2024-03-01", "2024-09-01", None, None, "2024-06-30"),
        )
        # closed before, opens later, always open, open-ended start, open until the 30th
        assert allowed(frame) == [2, 3, 4]

    def test_open_at_replaces_now(self) -> None:
        frame = catalog(available_from=stamps("2024-07-01", None),
                        available_until=stamps("2024-09-01", None))
        assert allowed(frame, filters=RequestFilters(open_at="2024-08-01")) == [0, 1]
        assert allowed(frame) == [1]

    def test_window_overlap(self) -> None:
        frame = catalog(available_from=stamps("2024-07-01", "2024-01-01", "2024-10-01"),
                        available_until=stamps("2024-09-01", "2024-02-01", "2024-12-01"))
        window = RequestFilters(open_between=("2024-08-15", "2024-10-15"))
        assert allowed(frame, filters=window) == [0, 2]
        assert allowed(frame, filters=RequestFilters(open_between=(None, "2024-03-01"))) == [1]

    def test_now_none_skips_the_check(self) -> None:
        frame = catalog(available_from=stamps("2030-01-01"), available_until=stamps("2030-02-01"))
        assert allowed(frame, now=None) == [0]
        assert allowed(frame) == []


class TestPlace:
    def test_offline_only_in_home_or_adjacent_region(self) -> None:
        frame = catalog(mode=["offline", "offline", "offline", "blended", "online", "offline"],
                        region=["a", "b", "c", "c", "d", None])
        learner_in_a = LearnerProfile(region="a")
        assert allowed(frame, learner_in_a) == [0, 1, 4]  # home a, adjacent b, online anywhere
        learner_in_c = LearnerProfile(region="c")  # neighbours b (listed as b->c) and d
        assert allowed(frame, learner_in_c) == [1, 2, 3, 4]

    def test_unknown_learner_region_gets_online_only(self) -> None:
        frame = catalog(mode=["offline", "online"], region=["a", None])
        assert allowed(frame, LearnerProfile(region=None)) == [1]
        assert allowed(frame, LearnerProfile(region="atlantis")) == [1]

    def test_request_region_replaces_home(self) -> None:
        frame = catalog(mode=["offline", "offline", "online"], region=["a", "c", None])
        profile = LearnerProfile(region="a")
        assert allowed(frame, profile, RequestFilters(region="c")) == [1, 2]

    def test_anonymous_request_is_not_placed(self) -> None:
        frame = catalog(mode=["offline", "online"], region=["a", None])
        assert allowed(frame) == [0, 1]


class TestAccess:
    FEATURES = ["captions", "sign_language", "captions|sign_language", "audio", "large_print",
                "audio|easy_read", "easy_read", None]

    def test_a_need_requires_its_feature(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        assert allowed(frame, LearnerProfile(accessibility_needs=("captions",))) == [0, 2]
        assert allowed(frame, LearnerProfile(accessibility_needs="large_print")) == [4]

    def test_needs_for_one_barrier_are_alternatives(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        deaf = LearnerProfile(accessibility_needs="captions|sign_language")
        assert allowed(frame, deaf) == [0, 1, 2]
        low_vision = LearnerProfile(accessibility_needs="large_print|audio")
        assert allowed(frame, low_vision) == [3, 4, 5]

    def test_needs_for_different_barriers_all_hold(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        assert allowed(frame, LearnerProfile(accessibility_needs="audio|easy_read")) == [5]

    def test_relax_access(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        profile = LearnerProfile(accessibility_needs="sign_language")
        assert allowed(frame, profile) == [1, 2]
        assert allowed(frame, profile, RequestFilters(relax_access=True)) == list(range(8))

    def test_unmatched_needs_are_reported_not_enforced(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        profile = LearnerProfile(accessibility_needs=("mobility",))
        assert profile.unmatched_needs() == ("mobility",)
        assert allowed(frame, profile) == list(range(8))

    def test_groups_cover_the_vocabulary_once(self) -> None:
        grouped = [need for group in NEED_GROUPS.values() for need in group]
        assert sorted(grouped) == sorted(ACCESSIBILITY_FEATURES)

    def test_request_features_all_required(self) -> None:
        frame = catalog(accessibility=self.FEATURES)
        both = RequestFilters(accessibility=("captions", "sign_language"))
        assert allowed(frame, filters=both) == [2]


class TestLanguage:
    def test_hard_unless_relaxed(self) -> None:
        frame = catalog(language=["zh", "en", "bo", None])
        profile = LearnerProfile(languages="zh|bo")
        assert allowed(frame, profile) == [0, 2, 3]  # unknown language is kept
        assert allowed(frame, profile, RequestFilters(relax_language=True)) == [0, 1, 2, 3]

    def test_learner_without_languages_is_not_constrained(self) -> None:
        frame = catalog(language=["zh", "en"])
        assert allowed(frame, LearnerProfile()) == [0, 1]

    def test_request_language_filter(self) -> None:
        frame = catalog(language=["zh", "en", None])
        assert allowed(frame, filters=RequestFilters(language="en")) == [1]


class TestRequestFilters:
    def test_each_field(self) -> None:
        frame = catalog(
            category=["literacy", "law_civics", "literacy", "literacy"],
            mode=["online", "online", "offline", "online"],
            region=[None, None, "a", None],
            level=["beginner", "advanced", "beginner", None],
            duration_minutes=[30.0, 90.0, 60.0, np.nan],
            provider_type=["enterprise", "library_museum", "community_school", None],
        )
        assert allowed(frame, filters=RequestFilters(category="law_civics")) == [1]
        assert allowed(frame, filters=RequestFilters(category=("law_civics", "literacy"))) == [0, 1, 2, 3]
        assert allowed(frame, filters=RequestFilters(mode="offline")) == [2]
        assert allowed(frame, filters=RequestFilters(level="beginner")) == [0, 2]
        assert allowed(frame, filters=RequestFilters(max_duration_minutes=60)) == [0, 2]  # NaN unknown
        assert allowed(frame, filters=RequestFilters(provider_type="library_museum")) == [1]
        assert allowed(frame, filters=RequestFilters(category="cooking")) == []

    @pytest.mark.parametrize("kwargs", [
        {"mode": "boat"}, {"level": "expert"}, {"max_duration_minutes": -1},
        {"accessibility": ("braille",)}, {"open_between": ("2024-02-01", "2024-01-01")},
        {"open_at": "not a date"}, {"category": ""},
    ])
    def test_bad_values_raise(self, kwargs: dict) -> None:
        with pytest.raises(InvalidParameterError):
            RequestFilters(**kwargs)

    def test_negative_credit_requirement_raises(self) -> None:
        with pytest.raises(InvalidParameterError):
            LearnerProfile(credit_hours_required=-1.0)


def _reference_ok(row: pd.Series, profile: LearnerProfile, near: dict[str, set[str]], now: pd.Timestamp) -> bool:
    """Row-by-row statement of the rules, written independently of the vectorised mask."""
    start, end = row["available_from"], row["available_until"]
    if (not pd.isna(start) and start > now) or (not pd.isna(end) and end < now):
        return False
    if row["mode"] in ("offline", "blended"):
        if profile.region is None or pd.isna(row["region"]) or row["region"] not in near.get(profile.region, set()):
            return False
    if profile.languages and not pd.isna(row["language"]) and row["language"] not in profile.languages:
        return False
    features = set(row["accessibility"].split(LIST_SEPARATOR)) if isinstance(row["accessibility"], str) else set()
    for group in NEED_GROUPS.values():
        wanted = set(profile.accessibility_needs) & set(group)
        if wanted and not wanted & features:
            return False
    return True


def test_mask_matches_a_row_by_row_reference_on_the_sample_world() -> None:
    world = generate_world(n_learners=60, n_resources=600, seed=3, as_of="2024-12-31")
    arrays = CatalogArrays.build(world.resources, world.regions)
    near: dict[str, set[str]] = {}
    for home, neighbour in zip(world.regions["region"], world.regions["neighbour"]):
        near.setdefault(home, {home}).add(neighbour)
        near.setdefault(neighbour, {neighbour}).add(home)
    profiles = learner_profiles(world.learners)
    rows = [row for _, row in world.resources.iterrows()]
    for now in (pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-10-01", tz="UTC")):
        for profile in profiles[:40]:
            expected = [i for i, row in enumerate(rows) if _reference_ok(row, profile, near, now)]
            assert np.flatnonzero(arrays.mask(None, profile, now=now)).tolist() == expected


def test_cached_learner_masks_do_not_leak_between_requests() -> None:
    frame = catalog(accessibility=["captions", None, "audio"], language=["zh", "en", "zh"],
                    mode=["online", "offline", "offline"], region=[None, "a", "d"])
    arrays = CatalogArrays.build(frame, REGIONS)
    profile = LearnerProfile(region="a", languages="zh", accessibility_needs="captions")
    first = arrays.mask(None, profile, now=NOW)
    relaxed = arrays.mask(RequestFilters(relax_access=True, relax_language=True), profile, now=NOW)
    again = arrays.mask(None, profile, now=NOW)
    assert first.tolist() == again.tolist() == [True, False, False]
    assert relaxed.tolist() == [True, True, False]
    again[:] = True  # the caller owns the mask it gets
    assert arrays.mask(None, profile, now=NOW).tolist() == [True, False, False]


def test_repeated_masks_follow_the_clock_to_the_microsecond() -> None:
    """A request mask is reused while no window opens or closes, never across a bound."""
    frame = catalog(available_from=stamps("2024-06-15T12:00:00", None, None),
                    available_until=stamps(None, "2024-06-15T11:59:59", None))
    arrays = CatalogArrays.build(frame, REGIONS)
    opens, closes = pd.Timestamp("2024-06-15T12:00:00", tz="UTC"), pd.Timestamp(
        "2024-06-15T11:59:59", tz="UTC")
    micro = pd.Timedelta(microseconds=1)
    for now, expected in [(closes - micro, [1, 2]), (closes, [1, 2]), (closes + micro, [2]),
                          (opens - micro, [2]), (opens, [0, 2]), (NOW, [1, 2]),
                          (opens, [0, 2]), (closes + micro, [2]), (closes, [1, 2])]:
        for _ in range(2):  # the second answer comes from the cache
            mask = arrays.mask(None, None, now=now)
            assert np.flatnonzero(mask).tolist() == expected, now
            mask[:] = False  # the caller owns its copy
    assert np.flatnonzero(arrays.mask(RequestFilters(open_at=opens), None, now=NOW)).tolist() \
        == [0, 2]
    assert np.flatnonzero(arrays.mask(None, None, now=None)).tolist() == [0, 1, 2]
    assert np.flatnonzero(arrays.mask(RequestFilters(mode="offline"), None, now=opens)
                          ).tolist() == []


def test_learner_profiles_match_their_rows_and_refuse_rows_out_of_range() -> None:
    learners = pd.DataFrame({
        "learner_id": ["a", "b", "c"], "region": ["R1", None, "R2"],
        "languages": ["zh|en", "zh", None], "accessibility_needs": [None, "captions", ""],
    })
    profiles = learner_profiles(learners)
    assert len(profiles) == 3
    expected = [LearnerProfile.from_row(row) for _, row in learners.iterrows()]
    assert list(profiles) == expected and profiles[-1] == expected[2]
    assert profiles[1:] == expected[1:]
    assert profiles[1] is profiles[1]  # built once
    with pytest.raises(IndexError, match="learner row 3"):
        profiles[3]


def test_learner_profiles_keep_only_the_most_recently_used_built() -> None:
    learners = pd.DataFrame({"learner_id": [f"l{i}" for i in range(10)],
                             "region": [f"R{i}" for i in range(10)]})
    profiles = LearnerProfiles(learners, keep=3)
    first = profiles[0]
    for row in range(1, 10):  # a batch walk over every learner
        assert profiles[row].region == f"R{row}"
        assert len(profiles._built) <= 3
    assert profiles[0] == first and profiles[0] is not first  # rebuilt, the same facts
    recent = profiles[9]
    profiles[8], profiles[7]
    assert profiles[9] is recent  # still kept: among the three most recent
