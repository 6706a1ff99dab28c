"""What the sample world says in words: learners' stated interests and the resources' provider
names, titles, descriptions and tags, in Chinese, English or both.

A template is filled for every row that uses it at once, so loops run over templates, never
over rows. Minority-language resources carry Chinese text, as they do on real platforms.
"""

from __future__ import annotations

from string import Formatter

import numpy as np

from recommender.data.sample_world.arrays import labels
from recommender.data.sample_world.vocabulary import (
    AUDIENCE_EN,
    AUDIENCE_ZH,
    EN_TITLES,
    FORMAT_EN,
    FORMAT_ZH,
    INTEREST_EN,
    INTEREST_ZH,
    LEVEL_EN,
    LEVEL_ZH,
    MODE_EN,
    MODE_ZH,
    NATIONAL_PROVIDERS,
    REGION_ZH,
    REGIONAL_PROVIDERS,
    TOPIC_EN,
    TOPIC_EN_TITLE,
    TOPIC_ZH,
    ZH_TITLES,
)
from recommender.data.schema import LIST_SEPARATOR, PROVIDER_TYPES


def fill(template: str, mask: np.ndarray | None = None, **fields: np.ndarray) -> np.ndarray:
    """Format ``template`` row-wise over object arrays, e.g. ``fill("{t}入门", t=names)``."""
    n = len(next(iter(fields.values())))
    rows = np.ones(n, dtype=bool) if mask is None else mask
    out = np.full(int(rows.sum()), "", dtype=object)
    for literal, field, _, _ in Formatter().parse(template):
        out = out + literal
        if field is not None:
            out = out + fields[field][rows].astype(str).astype(object)
    return out


def fill_templates(out: np.ndarray, templates: tuple[str, ...], where: np.ndarray,
                   choice: np.ndarray, **fields: np.ndarray) -> None:
    """Write into ``out[where]`` one of ``templates`` per row: the one ``choice`` picks, modulo
    their number, so one draw per row serves template lists of any length."""
    for k, template in enumerate(templates):
        rows = where & (choice % len(templates) == k)
        out[rows] = fill(template, rows, **fields)


def topic_list(topics: np.ndarray, names: np.ndarray, comma: str, last_and: str) -> np.ndarray:
    """Row-wise "a、b和c" / "a, b and c" from two or three topic columns (-1 = absent).

    Present topics are moved to the front first (stable), so a gap between two topics never
    leaves a dangling "和".
    """
    topics = np.take_along_axis(topics, np.argsort(topics < 0, axis=1, kind="stable"), axis=1)
    present = topics >= 0
    words = np.where(present, names[np.maximum(topics, 0)], "").astype(object)
    count = present.sum(axis=1)
    out = words[:, 0].copy()
    two = count == 2
    out[two] = words[two, 0] + last_and + words[two, 1]
    if topics.shape[1] > 2:
        three = count == 3
        out[three] = words[three, 0] + comma + words[three, 1] + last_and + words[three, 2]
    return out


def interests_text(
    topics: np.ndarray, language_flags: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """What the learner typed about themselves: Chinese, English or mixed; sometimes nothing."""
    n = len(topics)
    speaks_english = (language_flags & 2) > 0
    style = np.where(speaks_english, rng.choice(3, size=n, p=[0.35, 0.45, 0.20]), 0)
    zh_names = topic_list(topics, TOPIC_ZH, "、", "和")
    en_names = topic_list(topics, TOPIC_EN, ", ", " and ")
    mixed_rest = topic_list(topics[:, 1:], TOPIC_ZH, "、", "和")
    text = np.empty(n, dtype=object)
    choice = rng.integers(0, 5, size=n)
    fill_templates(text, INTEREST_ZH, style == 0, choice, a=zh_names)
    fill_templates(text, INTEREST_EN, style == 1, choice, a=en_names)
    mixed = style == 2
    has_rest = topics[:, 1] >= 0
    english_first = TOPIC_EN[topics[:, 0]]
    both = mixed & has_rest
    text[both] = fill("想学 {a} 和{b}", both, a=english_first, b=mixed_rest)
    text[mixed & ~has_rest] = fill("想学 {a}", mixed & ~has_rest, a=english_first)
    text[rng.random(n) < 0.08] = None
    return text


def provider_names(
    provider_type_idx: np.ndarray, region_idx: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """National platforms for resources without a region, provincial institutions otherwise."""
    n = len(provider_type_idx)
    names = np.empty(n, dtype=object)
    pick = rng.integers(0, 1_000, size=n)
    region_zh = REGION_ZH[np.maximum(region_idx, 0)]
    for type_idx, provider_type in enumerate(PROVIDER_TYPES):
        of_type = provider_type_idx == type_idx
        national = NATIONAL_PROVIDERS[provider_type]
        rows = of_type & (region_idx < 0)
        names[rows] = labels(national, pick[rows] % len(national))
        fill_templates(names, REGIONAL_PROVIDERS[provider_type], of_type & (region_idx >= 0),
                       pick, r=region_zh)
    return names


def titles(
    topics: np.ndarray, level_idx: np.ndarray, format_idx: np.ndarray, mode_idx: np.ndarray,
    language_idx: np.ndarray, bilingual: np.ndarray, duration: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Titles from level-specific templates; minority-language items carry a Chinese title."""
    n = len(level_idx)
    main, second = topics[:, 0], topics[:, 1]
    other = np.where(second >= 0, second, main)
    pick = rng.integers(0, 1_000, size=n)
    pick = np.where((level_idx == 1) & (second < 0) & (pick % 4 == 3), 0, pick)  # "{u}": 2 topics
    zh = np.empty(n, dtype=object)
    en = np.empty(n, dtype=object)
    for level, (zh_templates, en_templates) in enumerate(zip(ZH_TITLES, EN_TITLES, strict=True)):
        at_level = level_idx == level
        fill_templates(zh, zh_templates, at_level, pick, t=TOPIC_ZH[main], u=TOPIC_ZH[other])
        fill_templates(en, en_templates, at_level, pick, t=TOPIC_EN[main],
                       T=TOPIC_EN_TITLE[main], u=TOPIC_EN[other])
    sessions = np.maximum(1, np.rint(duration / 45)).astype(int).astype(str).astype(object)
    micro, talk, course = format_idx == 0, format_idx == 1, format_idx == 2
    offline = mode_idx > 0
    zh[micro] = "微课｜" + zh[micro]
    zh[talk & offline] = zh[talk & offline] + "讲座"
    zh[course & offline] = zh[course & offline] + "培训班"
    zh[course & ~offline] = zh[course & ~offline] + "（" + sessions[course & ~offline] + "讲）"
    en_plain = en.copy()
    en[micro] = "Micro-lesson: " + en[micro]
    en[talk & offline] = en[talk & offline] + " (workshop)"
    en[course] = en[course] + " (" + sessions[course] + " sessions)"
    title = np.where(language_idx == 1, en, zh)
    title[bilingual] = TOPIC_ZH[main[bilingual]] + " " + np.where(
        level_idx[bilingual] == 0, TOPIC_EN_TITLE[main[bilingual]] + " basics", en_plain[bilingual])
    return title


def descriptions(
    topics: np.ndarray, category_idx: np.ndarray, level_idx: np.ndarray, format_idx: np.ndarray,
    mode_idx: np.ndarray, language_idx: np.ndarray, provider: np.ndarray, credit: np.ndarray,
) -> np.ndarray:
    """A two-sentence blurb in the resource's language (Chinese for minority-language items)."""
    amounts = np.unique(credit)
    credit_text = np.array([f"{c:g}" for c in amounts], dtype=object)[
        np.searchsorted(amounts, credit)]
    has_credit = credit > 0
    zh = _blurb(
        "{p}{m}{f}，{l}。内容涵盖{t}，{a}。", "完成可获{c}学分学时。", has_credit,
        p=provider, m=labels(MODE_ZH, mode_idx), f=labels(FORMAT_ZH, format_idx),
        l=labels(LEVEL_ZH, level_idx), t=topic_list(topics, TOPIC_ZH, "、", "、"),
        a=labels(AUDIENCE_ZH, category_idx), c=credit_text,
    )
    en = _blurb(
        "An {m} {f} on {t} from {p}. {l}. {a}.", " Earns {c} credit hours.", has_credit,
        p=provider, m=labels(MODE_EN, mode_idx), f=labels(FORMAT_EN, format_idx),
        l=labels(LEVEL_EN, level_idx), t=topic_list(topics, TOPIC_EN, " and ", " and "),
        a=labels(AUDIENCE_EN, category_idx), c=credit_text,
    )
    return np.where(language_idx == 1, en, zh)


def _blurb(sentence: str, credit_sentence: str, has_credit: np.ndarray,
           **fields: np.ndarray) -> np.ndarray:
    """``sentence`` for every row, followed by ``credit_sentence`` where credit is earned."""
    text = fill(sentence, **fields)
    text[has_credit] = text[has_credit] + fill(credit_sentence, has_credit, **fields)
    return text


def tags(topics: np.ndarray) -> np.ndarray:
    """Topic names in both languages, so Chinese and English interests both find them."""
    main, second = topics[:, 0], topics[:, 1]
    out = TOPIC_ZH[main] + LIST_SEPARATOR + TOPIC_EN[main]
    has = second >= 0
    out[has] = (out[has] + LIST_SEPARATOR + TOPIC_ZH[second[has]] + LIST_SEPARATOR
                + TOPIC_EN[second[has]])
    return out
