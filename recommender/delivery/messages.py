"""What the delivery core says to a learner, in Chinese and English: the one message catalog.

Reasons (:mod:`recommender.delivery.reasons`) and the sentence of an empty list
(:mod:`recommender.delivery.core`) are written here and nowhere else, one template per message
and language, worded as a person would write them. The language is the learner's: the first of
their ``languages`` (profile) the catalog speaks, else the first the request accepts
(``Accept-Language``), else :data:`DEFAULT_LANGUAGE`.
"""

from __future__ import annotations

from collections.abc import Iterable

LANGUAGES: tuple[str, ...] = ("zh", "en")
DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "continue": "Pick up where you left off",
        "similar_completed": "Because you completed \u201c{title}\u201d",
        "similar_engaged": "Because you looked into \u201c{title}\u201d",
        "similar_resource": "Similar to \u201c{title}\u201d",
        "interest": "Matches your interest in \u201c{word}\u201d",
        "group_popular": "Popular with {group}",
        "group_popular_near": "Popular with {group} in your area",
        "popular": "Popular with learners on the platform",
        "new": "New in the catalog",
        "no_match": "Nothing in the catalog matches these filters for you; try fewer or "
                    "other filters.",
        "all_done": "You have already completed or set aside everything that matches these "
                    "filters.",
        "none_open": "Nothing that matches is open for enrolment at this time; try a later "
                     "date window.",
    },
    "zh": {
        "continue": "接着上次的进度继续学",
        "similar_completed": "因为你学完了《{title}》",
        "similar_engaged": "因为你看过《{title}》",
        "similar_resource": "与《{title}》内容相近",
        "interest": "和你感兴趣的“{word}”有关",
        "group_popular": "{group}都在学",
        "group_popular_near": "你附近的{group}都在学",
        "popular": "平台上很多人在学",
        "new": "新上线的内容",
        "no_match": "目录里没有符合这些筛选条件的内容，可以减少或更换筛选条件。",
        "all_done": "符合这些条件的内容你都已学完或不感兴趣。",
        "none_open": "符合条件的课程目前都不在开放报名时间内，可以换一个时间段看看。",
    },
}

GROUP_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "employee": "working people", "rural_resident": "rural residents",
        "migrant_worker": "migrant workers", "unemployed": "job seekers",
        "retiree": "retirees", "disabled": "learners with disabilities",
        "veteran": "veterans", "youth": "young learners",
    },
    "zh": {
        "employee": "在职职工", "rural_resident": "农村居民", "migrant_worker": "进城务工人员",
        "unemployed": "求职的朋友", "retiree": "退休的朋友", "disabled": "残障朋友",
        "veteran": "退役军人", "youth": "年轻学员",
    },
}


def language_for(learner_languages: Iterable[str], accepted: Iterable[str] = ()) -> str:
    """The language to speak to a learner: their own first (the profile's ``languages``,
    "zh-CN" counting as "zh"), then what the request accepts, then the default."""
    for code in (*learner_languages, *accepted):
        base = str(code).strip().lower().replace("_", "-").split("-")[0]
        if base in MESSAGES:
            return base
    return DEFAULT_LANGUAGE


def say(language: str, key: str, **values: str) -> str:
    """The message ``key`` in ``language`` with ``values`` filled in."""
    return MESSAGES[language][key].format(**values)


def group_label(group: str, language: str) -> str:
    """How a learner group is named ("retiree" -> "retirees", "退休的朋友")."""
    found = GROUP_LABELS[language].get(group)
    if found is not None:
        return found
    plain = group.replace("_", " ")
    return f"{plain} learners" if language == "en" else f"{plain}学员"
