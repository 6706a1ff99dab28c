"""What a learner sees in a list: one resource per title (the best-scored) unless asked
otherwise, each item's card from the catalog, and an empty list that says why (nothing matches,
everything matching is done, nothing open), in the learner's language."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from test_core import vectors_bundle

from recommender.delivery import RequestFilters
from recommender.delivery.cards import ResourceCard
from recommender.delivery.core import ALL_DONE, NO_MATCH, NONE_OPEN, DeliveryCore, ListRequest
from recommender.delivery.served import ServedModel

NOW = pd.Timestamp("2025-03-01T10:00", tz="UTC")

# r0-r3 share one title (r2 scores best of them); r4-r5 are law courses held in region a, r5
# closed since January; r6 is a culture course only open in the summer.
RESOURCES = pd.DataFrame({
    "resource_id": [f"r{i}" for i in range(8)],
    "title": ["智能手机入门", "智能手机入门", "智能手机入门 ", "智能手机入门", "法律常识",
              "法律援助", "书法", "电工基础"],
    "category": ["digital_literacy"] * 4 + ["law_civics"] * 2 + ["culture_leisure",
                                                                 "vocational_skills"],
    "mode": ["online"] * 4 + ["offline", "blended", "online", "online"],
    "region": [None] * 4 + ["a", "a", None, None],
    "language": ["zh"] * 8,
    "provider": ["开放大学", "社区学校", "开放大学", "老年大学", "司法所", "司法所", "文化馆",
                 "职业学校"],
    "provider_type": ["open_university", "community_school", "open_university",
                      "community_school", "community_school", "community_school",
                      "library_museum", "vocational_school"],
    "duration_minutes": [30.0, 45.0, 30.0, 20.0, 120.0, 90.0, 60.0, np.nan],
    "credit_hours": [0.0, 1.0, 0.5, 0.0, 2.0, 2.0, 1.0, np.nan],
    "level": ["beginner"] * 8,
    "accessibility": ["captions", None, "captions|large_print", None, None, None, None, None],
    "available_from": [None, None, None, None, None, "2024-11-01", "2025-06-01", None],
    "available_until": [None, None, None, None, "2025-12-31", "2025-01-31", "2025-08-31", None],
})
LEARNERS = pd.DataFrame({
    "learner_id": ["zh", "en"], "group": ["retiree", "youth"], "region": ["a", "a"],
    "languages": ["zh", None],
})
VECTORS = np.array([[1.0, 0.0]] * 8) * np.array([[0.9], [0.8], [1.0], [0.7], [0.5], [0.4],
                                                 [0.3], [0.2]])


@pytest.fixture(scope="module")
def core() -> DeliveryCore:
    # learner "zh" completed r4 (the open law course)
    done = sp.csr_matrix(([1.0], ([0], [4])), shape=(2, 8), dtype=np.float32)
    bundle = vectors_bundle(LEARNERS, RESOURCES, np.array([[1.0, 0.0], [1.0, 0.0]]), VECTORS,
                            done, pd.DataFrame({"region": ["a"], "neighbour": ["b"]}))
    return DeliveryCore(ServedModel.from_bundle(bundle, "Flat"))


def listed(core: DeliveryCore, learner_id: str = "zh", **options) -> list[str]:
    delivered = core.deliver(core.learner(learner_id), ListRequest(now=NOW, **options))
    return [p.resource_id for p in delivered.items]


def test_one_resource_per_title_the_best_scored_and_the_list_still_fills(core) -> None:
    """Scores follow the resource index order r2 > r0 > r1 > r3 > ... > r7; r0-r3 are one
    title. Learner zh may take r0-r3 and r7 now (r4 done, r5 closed, r6 not yet open)."""
    # two slots: the first fetch (r2, r0) holds one title, so the core fetches more
    assert listed(core, k=2) == ["r2", "r7"]
    assert listed(core, k=5) == ["r2", "r7"]  # two titles are all there is
    assert listed(core, k=8, one_per_title=False) == ["r2", "r0", "r1", "r3", "r7"]
    assert listed(core, k=3, filters=RequestFilters(open_at="2025-07-01")) == ["r2", "r6", "r7"]
    assert listed(core, "en", k=3) == ["r2", "r4", "r7"]  # nothing done, no language bound
    reranked = listed(core, "en", k=3, diversity=0.5)
    assert sorted(reranked) == ["r2", "r4", "r7"]  # de-duplicated before re-ranking


def test_items_carry_the_catalogs_facts(core) -> None:
    items = core.deliver(core.learner("zh"), ListRequest(k=8, now=NOW,
                                                         one_per_title=False)).items
    cards = {p.resource_id: p.card for p in items}
    assert cards["r2"] == ResourceCard(
        category="digital_literacy", mode="online", level="beginner", language="zh",
        duration_minutes=30.0, credit_hours=0.5, provider="开放大学",
        provider_type="open_university", region=None, available_from=None,
        available_until=None, accessibility=("captions", "large_print"))
    offline = core.deliver(core.learner("en"), ListRequest(
        k=1, now=NOW, filters=RequestFilters(category="law_civics"))).items[0]
    assert offline.resource_id == "r4" and offline.card.mode == "offline"
    assert offline.card.region == "a"  # in person: where it is held
    assert offline.card.available_until == pd.Timestamp("2025-12-31", tz="UTC").to_pydatetime()
    assert cards["r7"].duration_minutes is None and cards["r7"].credit_hours is None


@pytest.mark.parametrize(("filters", "learner_id", "code"), [
    (RequestFilters(category="entrepreneurship"), "zh", NO_MATCH),  # not in the catalog
    (RequestFilters(mode="offline", region="b"), "zh", NO_MATCH),  # none held there
    (RequestFilters(category="law_civics", mode="offline"), "zh", ALL_DONE),  # r4 completed
    (RequestFilters(category="law_civics", mode="blended"), "zh", NONE_OPEN),  # r5 closed
    (RequestFilters(category="culture_leisure"), "en", NONE_OPEN),  # r6 opens in June
    (RequestFilters(category="culture_leisure", open_between=("2025-09-01", "2025-12-01")),
     "en", NONE_OPEN),  # not in the window either
], ids=["no such category", "no such place", "done", "closed", "not yet open", "window"])
def test_an_empty_list_says_why(core, filters, learner_id, code) -> None:
    delivered = core.deliver(core.learner(learner_id), ListRequest(k=5, now=NOW,
                                                                   filters=filters))
    assert delivered.items == [] and delivered.empty is not None
    assert delivered.empty.code == code


def test_excluded_ids_count_as_done_and_the_sentence_is_in_the_learners_language(core) -> None:
    filters = RequestFilters(category="digital_literacy")
    delivered = core.deliver(core.learner("en"), ListRequest(
        k=5, now=NOW, filters=filters, exclude_ids=("r0", "r1", "r2", "r3")))
    assert delivered.empty.code == ALL_DONE
    assert delivered.empty.message.startswith("You have already completed")
    chinese = core.deliver(core.learner("zh"), ListRequest(
        k=5, now=NOW, filters=RequestFilters(category="entrepreneurship")))
    assert chinese.empty.message == "目录里没有符合这些筛选条件的内容，可以减少或更换筛选条件。"
    accepted = core.deliver(core.learner("en"), ListRequest(
        k=5, now=NOW, filters=RequestFilters(category="entrepreneurship"),
        accepted_languages=("zh",)))
    assert accepted.empty.message == chinese.empty.message  # no profile language: the request's
    full = core.deliver(core.learner("en"), ListRequest(k=5, now=NOW))
    assert full.items and full.empty is None


def test_why_not_names_the_same_titled_resource_listed_instead(core) -> None:
    from recommender.delivery.why_not import LISTED, SAME_TITLE

    view, request = core.learner("zh"), ListRequest(k=3, now=NOW)
    assert core.why_not(view, request, "r0").verdict == SAME_TITLE  # r2 has its title
    listed = core.why_not(view, request, "r7")
    assert (listed.verdict, listed.rank) == (LISTED, 2)  # second once titles are counted once
    every = core.why_not(view, ListRequest(k=3, now=NOW, one_per_title=False), "r0")
    assert (every.verdict, every.rank) == (LISTED, 2)
