"""RP3beta against a hand computation of the three-step walk (the shared contract is in
test_contract.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.features import FeatureSet, IdMap
from recommender.features.consumption import Consumption
from recommender.models import LearnerHistory, RP3betaModel


def _features(matrix: list[list[float]]) -> FeatureSet:
    interactions = sp.csr_matrix(np.asarray(matrix, dtype=np.float32))
    n_learners, n_resources = interactions.shape
    return FeatureSet(
        learner_map=IdMap("learner", [f"l{i}" for i in range(n_learners)]),
        resource_map=IdMap("resource", [f"r{i}" for i in range(n_resources)]),
        interactions=interactions,
        exclusions=sp.csr_matrix(interactions.shape, dtype=np.float32),
        learners=pd.DataFrame({"learner_id": [f"l{i}" for i in range(n_learners)]}),
        resources=pd.DataFrame({"resource_id": [f"r{i}" for i in range(n_resources)]}),
        events=pd.DataFrame(),
        consumption=Consumption(("complete", "dismiss")),
    )


def test_scores_are_the_walk_with_popular_destinations_discounted() -> None:
    """l0 used r0, r1; l1 used r1, r2 (confidence 3 on r1: binary walks ignore it).

    P_lr = [[.5, .5, 0], [0, .5, .5]]; P_rl = [[1, 0], [.5, .5], [0, 1]];
    W = P_rl P_lr = [[.5, .5, 0], [.25, .5, .25], [0, .5, .5]], columns / popularity^0.5
    (1, 2, 1); l0's scores = .5 W[r0] + .5 W[r1] = [.375, .5 / sqrt 2, .125].
    """
    model = RP3betaModel(alpha=1.0, beta=0.5).fit(_features([[1, 3, 0], [0, 1, 1]]))
    scores = model.learner_factors_ @ model.resource_factors_.T
    np.testing.assert_allclose(scores[0], [0.375, 0.5 / np.sqrt(2), 0.125], rtol=1e-6)
    np.testing.assert_allclose(scores[1], [0.125, 0.5 / np.sqrt(2), 0.375], rtol=1e-6)
    folded = model.fold_in(LearnerHistory(np.array([0, 1])))
    np.testing.assert_allclose(folded, model.learner_factors_[0])


def test_alpha_sharpens_and_beta_zero_keeps_popularity() -> None:
    features = _features([[1, 1, 0], [0, 1, 1]])
    plain = RP3betaModel(alpha=1.0, beta=0.0).fit(features)
    scores = plain.learner_factors_ @ plain.resource_factors_.T
    np.testing.assert_allclose(scores[0], [0.375, 0.5, 0.125], rtol=1e-6)  # r1 popular: first
    sharp = RP3betaModel(alpha=2.0, beta=0.0).fit(features)
    # every transition probability squared: P_lr = [[.25, .25, 0], ...], P_rl rows [1, 0],
    # [.25, .25], [0, 1]; l0 = .25 * (W[r0] + W[r1]) with W[r0] = [.25, .25, 0],
    # W[r1] = [.0625, .125, .0625]
    scores = sharp.learner_factors_ @ sharp.resource_factors_.T
    np.testing.assert_allclose(scores[0], [0.078125, 0.09375, 0.015625], rtol=1e-6)
