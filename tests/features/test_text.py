"""CJK-aware text vectors: Chinese without spaces, English, mixed text, and profile vectors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import ContentEncoder, ProfileEncoder, TextEncoder, resource_texts
from recommender.features import text as text_module
from recommender.features.text import MixedAnalyzer

# Four topics; Chinese, English and mixed titles; bilingual tags as real catalogs carry them.
CATALOG = pd.DataFrame({
    "resource_id": [f"r{i:02d}" for i in range(1, 13)],
    "title": [
        "智能手机入门", "Smartphone basics for seniors", "手机支付与 WeChat Pay 实操",
        "大棚蔬菜种植技术", "果树修剪实用技巧", "Greenhouse vegetable growing",
        "高血压防治", "老年人健康饮食", "Managing hypertension at home",
        "消费者权益保护", "劳动合同法解读", "Know your labour rights",
    ],
    "description": [
        "教中老年人用智能手机拍照、视频通话和上网", "Learn to use a smartphone: photos, video calls",
        "用手机扫码付款，防范电信诈骗", "温室大棚里的蔬菜种植与病虫害防治", "果树冬季修剪与嫁接",
        "Planting and pest control in greenhouses", "认识高血压，合理用药与监测",
        "老年人营养搭配与慢病饮食", "Blood pressure monitoring and medication",
        "网购退换货与消费维权", "签订劳动合同要注意什么", "Contracts, wages and dismissal",
    ],
    "tags": [
        "智能手机|smartphone", "智能手机|smartphone", "移动支付|mobile payment",
        "大棚蔬菜|greenhouse vegetables", "果树修剪|fruit tree pruning", "大棚蔬菜|greenhouse vegetables",
        "高血压防治|hypertension", "健康饮食|healthy eating", "高血压防治|hypertension",
        "消费者权益|consumer rights", "劳动法|labour law", "劳动法|labour law",
    ],
    "category": ["digital_literacy"] * 3 + ["agricultural_technology"] * 3
    + ["health_elderly_care"] * 3 + ["law_civics"] * 3,
    "mode": ["online", "online", "blended", "offline", "offline", "online"] * 2,
    "level": ["beginner"] * 12,
})
TOPIC = np.repeat(["phone", "farm", "health", "law"], 3)


@pytest.fixture(scope="module")
def content() -> ContentEncoder:
    return ContentEncoder(n_components=32).fit(CATALOG)


def _ranking(content: ContentEncoder, query: str) -> np.ndarray:
    scores = content.transform(CATALOG) @ content.embed_text([query])[0]
    return TOPIC[np.argsort(-scores, kind="stable")]


def test_chinese_query_finds_chinese_resources_on_the_same_topic_first(content: ContentEncoder) -> None:
    scores = content.transform(CATALOG) @ content.embed_text(["想学智能手机"])[0]
    order = np.argsort(-scores, kind="stable")
    assert CATALOG["resource_id"].iloc[order[0]] == "r01"  # 智能手机入门
    assert set(TOPIC[order[:3]]) == {"phone"}


@pytest.mark.parametrize(("query", "topic"), [
    ("大棚里种蔬菜", "farm"),
    ("我想了解高血压怎么防治", "health"),
    ("劳动合同", "law"),
])
def test_other_chinese_topics(content: ContentEncoder, query: str, topic: str) -> None:
    assert list(_ranking(content, query)[:2]) == [topic, topic]


@pytest.mark.parametrize(("query", "topic"), [
    ("smartphone video calls", "phone"),
    ("greenhouse vegetables", "farm"),
    ("hypertension", "health"),
    ("labour rights", "law"),
])
def test_english_queries(content: ContentEncoder, query: str, topic: str) -> None:
    assert list(_ranking(content, query)[:2]) == [topic, topic]


@pytest.mark.parametrize(("query", "topic"), [
    ("用 smartphone 视频通话", "phone"),
    ("greenhouse 蔬菜", "farm"),
    ("WeChat Pay 扫码付款", "phone"),
])
def test_mixed_chinese_english_queries(content: ContentEncoder, query: str, topic: str) -> None:
    assert _ranking(content, query)[0] == topic


def test_mixed_analyzer_splits_scripts_without_a_segmenter() -> None:
    grams = MixedAnalyzer((1, 2))("智能手机 Smartphones！")
    assert {"智能", "手机", "机", "smartphones", " sm", "ones "} <= set(grams)
    assert "机 " not in grams and "机s" not in grams  # n-grams never cross scripts


def test_vectors_are_unit_length_or_zero_and_deterministic() -> None:
    texts = resource_texts(CATALOG)
    first = TextEncoder(n_components=16).fit(texts)
    vectors = first.transform(texts + ["", None, pd.NA, np.nan, "ZZZZ"])
    assert vectors.dtype == np.float32 and vectors.shape == (17, first.dim_)
    np.testing.assert_allclose(np.linalg.norm(vectors[:12], axis=1), 1.0, rtol=1e-5)
    assert not vectors[12:].any()  # missing or unknown text matches nothing, never NaN
    text_module._kept_fits.clear()  # a fit from scratch, not the kept one
    again = TextEncoder(n_components=16).fit(texts).transform(texts)
    np.testing.assert_array_equal(again, vectors[:12])
    restored = pickle.loads(pickle.dumps(first))
    np.testing.assert_array_equal(restored.transform(texts), vectors[:12])


def test_a_catalog_fitted_again_reuses_its_fit_and_any_change_refits() -> None:
    texts = resource_texts(CATALOG)
    first = TextEncoder(n_components=16)
    vectors = first.fit_transform(texts)
    vectors[:] = 0  # the caller's copy: the kept fit must not change with it
    second = TextEncoder(n_components=16)
    again = second.fit_transform(texts)
    assert second.svd_ is first.svd_ and second.vectorizer_ is first.vectorizer_
    np.testing.assert_allclose(np.linalg.norm(again, axis=1), 1.0, rtol=1e-5)
    other_text = TextEncoder(n_components=16).fit(texts[:-1] + ["果树修剪 与 嫁接"])
    other_params = TextEncoder(n_components=8).fit(texts)
    for refitted in (other_text, other_params):
        assert refitted.svd_ is not first.svd_
    assert other_params.dim_ == 8


def test_components_never_exceed_what_the_corpus_holds() -> None:
    encoder = TextEncoder(n_components=500).fit(resource_texts(CATALOG))
    assert encoder.dim_ == len(CATALOG)


def test_text_encoder_rejects_bad_use() -> None:
    with pytest.raises(NotFittedError):
        TextEncoder().transform(["智能手机"])
    with pytest.raises(InvalidParameterError, match="n_components"):
        TextEncoder(n_components=0).fit(["a b", "c d"])
    with pytest.raises(InvalidParameterError, match="texts"):
        TextEncoder().fit("智能手机入门")
    with pytest.raises(InvalidParameterError, match="analyzer"):
        TextEncoder(analyzer="jieba").fit(["智能手机", "果树修剪"])
    with pytest.raises(InvalidParameterError, match="max_df"):  # every n-gram in every text
        TextEncoder().fit(["手机", "手机"])


def test_content_vectors_carry_category_and_mode(content: ContentEncoder) -> None:
    vectors = content.transform(CATALOG)
    assert vectors.shape == (12, content.dim_)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    # Same category beats another category even when the text shares nothing.
    assert similarity[3, 4] > similarity[3, 9]
    unseen = CATALOG.iloc[:1].assign(category="space_travel", mode="teleport", level=None)
    assert np.isfinite(content.transform(unseen)).all()  # unknown values give zeros, not errors


# The catalog with every categorical field varied, so level and provider_type carry information.
VARIED = CATALOG.assign(
    level=["beginner", "intermediate", "advanced"] * 4,
    provider_type=["community_school", "open_university"] * 6,
)


@pytest.fixture(scope="module")
def varied() -> ContentEncoder:
    return ContentEncoder(n_components=32).fit(VARIED)


def _field_slice(encoder: ContentEncoder, name: str) -> slice:
    """Where field ``name``'s one-hot block sits in the content vector (after the text part)."""
    start = encoder.text_slice_.stop
    for field, categories in encoder.fields_.categories_.items():
        if field == name:
            return slice(start, start + len(categories))
        start += len(categories)
    raise KeyError(name)


@pytest.mark.parametrize(("field", "value", "other"), [
    ("level", "beginner", "advanced"),
    ("provider_type", "community_school", "open_university"),
])
def test_resources_differing_only_in_a_categorical_field_differ_only_there(
    varied: ContentEncoder, field: str, value: str, other: str
) -> None:
    base = VARIED.iloc[[0, 3]]  # a phone course and a farming course
    one = varied.transform(base.assign(**{field: value}))
    two = varied.transform(base.assign(**{field: other}))
    block = _field_slice(varied, field)
    for row in range(len(base)):
        difference = two[row] - one[row]
        assert np.abs(difference[block]).max() > 0.05  # the field moved the vector
        outside = np.delete(difference, np.arange(block.start, block.stop))
        # Only the field's block changed (both vectors have the same norm, so nothing rescaled).
        np.testing.assert_allclose(outside, 0.0, atol=1e-6)


@pytest.mark.parametrize("field", ["level", "provider_type"])
def test_same_value_resources_are_closer_than_different_value_ones(
    varied: ContentEncoder, field: str
) -> None:
    same_value, other_value = VARIED[field].unique()[:2]

    def vector(row: int, value: str) -> np.ndarray:
        return varied.transform(VARIED.iloc[[row]].assign(**{field: value}))[0]

    anchor = vector(0, same_value)  # a phone course
    for row in (1, 6):  # another phone course, a health course
        assert anchor @ vector(row, same_value) > anchor @ vector(row, other_value) + 1e-3
    # The field comes after what the resource is about: the other phone course with another
    # value stays closer than the health course with the same value.
    assert anchor @ vector(1, other_value) > anchor @ vector(6, same_value)


@pytest.mark.parametrize("field", ["level", "provider_type"])
def test_a_zero_field_weight_makes_the_field_invisible(field: str) -> None:
    weights = {"category": 0.5, "level": 0.2, "mode": 0.2, "provider_type": 0.2, field: 0.0}
    encoder = ContentEncoder(n_components=32, field_weights=weights).fit(VARIED)
    values = VARIED[field].unique()[:2]
    row = VARIED.iloc[[0]]
    np.testing.assert_array_equal(encoder.transform(row.assign(**{field: values[0]})),
                                  encoder.transform(row.assign(**{field: values[1]})))


LEARNERS = pd.DataFrame({
    "learner_id": ["l1", "l2", "l3", "l4"],
    "group": ["retiree", "retiree", "rural_resident", "rural_resident"],
    "age_band": ["65+", "65+", "35-44", None],
    "urban_rural": ["urban", "urban", "rural", "rural"],
    "languages": ["zh", "zh|en", "zh", None],
    "accessibility_needs": ["large_print", None, None, None],
    "interests": ["想学智能手机", "智能手机视频通话", "大棚蔬菜种植", None],
})


def test_profile_interests_land_near_matching_resources(content: ContentEncoder) -> None:
    profiles = ProfileEncoder(text_encoder=content.text_encoder_).fit(LEARNERS)
    interests = profiles.interest_vectors(LEARNERS)
    text = content.text_encoder_.transform(resource_texts(CATALOG))
    assert TOPIC[np.argmax(text @ interests[0])] == "phone"
    assert TOPIC[np.argmax(text @ interests[2])] == "farm"
    assert not interests[3].any()  # no stated interests


def test_profile_vectors_group_similar_learners(content: ContentEncoder) -> None:
    profiles = ProfileEncoder(text_encoder=content.text_encoder_).fit(LEARNERS)
    vectors = profiles.transform(LEARNERS)
    assert vectors.shape == (4, profiles.dim_) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]  # two smartphone-curious urban retirees
    one = profiles.transform({"group": "retiree", "interests": "想学智能手机", "region": "mars"})
    assert one.shape == (1, profiles.dim_) and np.isfinite(one).all()


def test_profile_encoder_needs_a_fitted_text_encoder() -> None:
    with pytest.raises(NotFittedError):
        ProfileEncoder(text_encoder=TextEncoder()).fit(LEARNERS)


def test_repeated_texts_get_the_vector_they_get_alone(content: ContentEncoder) -> None:
    encoder = content.text_encoder_
    texts = ["想学智能手机", "hypertension at home", "想学智能手机", None, "想学智能手机"]
    vectors = encoder.transform(texts)
    for i, text in enumerate(texts):
        np.testing.assert_array_equal(vectors[i], encoder.transform([text])[0])
    assert not vectors[3].any()  # a missing text matches nothing


def test_fit_transform_is_fit_then_transform() -> None:
    texts = resource_texts(CATALOG)
    fitted = TextEncoder(n_components=8)
    vectors = fitted.fit_transform(texts)
    np.testing.assert_allclose(vectors, fitted.transform(texts), atol=1e-5)  # float32
    np.testing.assert_array_equal(fitted.svd_.components_,
                                  TextEncoder(n_components=8).fit(texts).svd_.components_)
    encoder = ContentEncoder(n_components=8)
    np.testing.assert_allclose(encoder.fit_transform(CATALOG), encoder.transform(CATALOG),
                               atol=1e-5)
