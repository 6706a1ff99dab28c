"""Shared pieces of the API tests (a module, not the conftest: test modules import it)."""

from __future__ import annotations

import pandas as pd

from recommender.bundle import Bundle, build_bundle
from recommender.data import Dataset
from recommender.features import build_feature_set
from recommender.models import ALSModel

API_KEY = "platform-key-0123456789"
ADMIN_KEY = "admin-key-9876543210"
KEY = {"X-API-Key": API_KEY}
ADMIN = {"X-API-Key": ADMIN_KEY}

TOPICS = [
    ("digital_literacy", "智能手机入门", "智能手机|微信"),
    ("agricultural_technology", "果树修剪技术", "果树|蔬菜"),
    ("health_elderly_care", "太极养生", "养生|太极"),
]
LEVELS = ["beginner", "intermediate", "advanced"]


def world_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows = []
    for i in range(36):
        category, title, tags = TOPICS[i % 3]
        mode = "online" if i < 24 or i >= 32 else ("offline" if i < 30 else "blended")
        region = {True: None}.get(mode == "online", "R1" if i < 27 else "R2" if i < 30 else "R3")
        features = [f for f, on in (("captions", i % 2 == 0), ("large_print", i % 3 == 0)) if on]
        rows.append({
            "resource_id": f"r{i:02d}", "title": f"{title} {i}", "description": title,
            "language": "en" if i >= 34 else "zh", "category": category, "tags": tags,
            "provider_type": "community_school" if i % 2 == 0 else "open_university",
            "mode": mode, "region": region, "duration_minutes": 20 + 10 * i,
            "credit_hours": 1.0, "level": LEVELS[i % 3],
            "accessibility": "|".join(features) or None,
            "available_from": "2101-01-01T00:00:00Z" if i == 33 else None,
            "available_until": "2020-01-01T00:00:00Z" if i == 32 else None,
        })
    resources = pd.DataFrame(rows)
    learners = pd.DataFrame({
        "learner_id": [f"d{i}" for i in range(8)] + [f"f{i}" for i in range(8)] + ["quiet"],
        "group": ["retiree"] * 8 + ["rural_resident"] * 8 + ["youth"],
        "age_band": ["65+"] * 8 + ["35-44"] * 8 + ["16-24"],
        "region": ["R1"] * 8 + ["R2"] * 8 + ["R3"],
        "languages": ["zh"] * 16 + ["zh|en"],
        "accessibility_needs": [None] * 16 + [None],
        "interests": ["想学智能手机"] * 8 + ["想学果树种植"] * 8 + ["想学用智能手机 smartphone"],
    })
    events = []
    for prefix, topic in (("d", 0), ("f", 1)):
        for n in range(8):
            picks = [topic + 3 * ((n + step) % 8) for step in range(4)]
            for step, i in enumerate(picks):
                for kind in ("view", "complete") if step < 2 else ("view",):
                    events.append({
                        "event_id": f"e{len(events)}", "learner_id": f"{prefix}{n}",
                        "resource_id": f"r{i:02d}", "event_type": kind, "value": None,
                        "timestamp": f"2024-05-{1 + len(events) // 24:02d}T"
                                     f"{len(events) % 24:02d}:00:00Z",
                    })
    regions = pd.DataFrame({"region": ["R1"], "neighbour": ["R2"]})
    return learners, resources, pd.DataFrame(events), regions


def make_bundle(world: Dataset, version: str, seed: int = 0) -> Bundle:
    features = build_feature_set(world)
    model = ALSModel(factors=8, iterations=15, regularization=0.05, random_state=seed)
    model.fit(features)
    return build_bundle(model, None, features, {"version": version, "data": world.summary()},
                        regions=world.regions)


def ids(response) -> list[str]:
    return [item["resource_id"] for item in response.json()["items"]]
