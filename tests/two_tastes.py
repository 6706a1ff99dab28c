"""The tiny hand-made world: two taste groups with disjoint interests.

Learners a1..a3 use resources r1..r3 (digital literacy), learners b1..b3 use r4..r6
(agricultural technology). A plain module, not a conftest, so tests in any folder import the same
thing (``from conftest import ...`` resolves to whichever folder's conftest was loaded last).
"""

from __future__ import annotations

import pandas as pd


def tiny_tables() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    learners = pd.DataFrame({
        "learner_id": ["a1", "a2", "a3", "b1", "b2", "b3"],
        "group": ["retiree"] * 3 + ["rural_resident"] * 3,
        "age_band": ["65+"] * 3 + ["35-44"] * 3,
        "urban_rural": ["urban"] * 3 + ["rural"] * 3,
        "languages": ["zh"] * 6,
    })
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(1, 7)],
        "title": ["智能手机入门", "网上挂号", "移动支付", "大棚蔬菜", "果树修剪", "电商直播"],
        "category": ["digital_literacy"] * 3 + ["agricultural_technology"] * 3,
        "mode": ["online"] * 6,
        "language": ["zh"] * 6,
    })
    rows = []
    plan = {
        "a1": ["r1", "r2", "r3"], "a2": ["r1", "r2"], "a3": ["r2", "r3"],
        "b1": ["r4", "r5", "r6"], "b2": ["r4", "r5"], "b3": ["r5", "r6"],
    }
    day = 0
    for learner_id, resource_ids in plan.items():
        for resource_id in resource_ids:
            for event_type in ("view", "complete"):
                day += 1
                rows.append({
                    "event_id": f"e{len(rows) + 1}", "learner_id": learner_id,
                    "resource_id": resource_id, "event_type": event_type, "value": "",
                    "timestamp": f"2024-01-{1 + day // 24:02d}T{day % 24:02d}:00:00Z",
                })
    return learners, resources, pd.DataFrame(rows)


def tiny_validation_split():  # noqa: ANN201 - (FeatureSet, validation events)
    """Features of the tiny world and a validation set on which a2 goes on to r3 and b2 to
    r6, their group's third resource: a model with taste gets them right, popularity does not."""
    import numpy as np

    from recommender.data import validate_dataset
    from recommender.features import build_feature_set

    world = validate_dataset(*tiny_tables())
    validation = pd.DataFrame({
        "event_id": ["v1", "v2"], "learner_id": ["a2", "b2"], "resource_id": ["r3", "r6"],
        "event_type": ["view", "view"], "value": [np.nan, np.nan],
        "timestamp": pd.to_datetime(["2024-02-01T00:00Z", "2024-02-01T01:00Z"]),
    })
    return build_feature_set(world), validation
