"""The registered model's ``pyfunc`` flavour: learner ids in, delivery lists out.

The bundle directory is the model's only artifact, so ``mlflow.pyfunc.load_model`` and
``mlflow models serve`` (with ``--env-manager local`` in this project's environment, since the
class imports this package) answer as the batch export and the API do for the bundle's
learners: the delivery core's list for each (the best ``k`` resources each may take:
availability at ``as_of``, place, language, accessibility, without what they completed or
dismissed).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, ParamSchema, ParamSpec, Schema

from recommender.bundle import Bundle, load_bundle
from recommender.delivery.core import DeliveryCore, ListRequest
from recommender.delivery.rerank import ListPolicy
from recommender.errors import InvalidParameterError
from recommender.index import SERVING_INDEX
from training.deliver import delivery_core, list_columns, moment

BUNDLE_ARTIFACT = "bundle"
DEFAULT_K = 10
LIST_COLUMNS = ["learner_id", "rank", "resource_id", "score"]
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "learner_id"), ColSpec("long", "k", required=False)]),
    outputs=Schema([
        ColSpec("string", "learner_id"), ColSpec("integer", "rank"),
        ColSpec("string", "resource_id"), ColSpec("float", "score"),
    ]),
    # the moment availability is judged at (ISO 8601); empty: the time of the call
    params=ParamSchema([ParamSpec("as_of", "string", "")]),
)
POLICY_FIELDS = ("equal_service", "calibration")  # model_config keys of its ListPolicy
# The runtime the class needs; listed rather than inferred (inference imports and times out).
PIP_REQUIREMENTS = [
    f"mlflow=={mlflow.__version__}", "numpy", "pandas", "scipy", "faiss-cpu", "pyarrow",
    "scikit-learn", "lifelong-recommender",
]


class DeliveryListModel(mlflow.pyfunc.PythonModel):
    """``predict(DataFrame[learner_id, k?]) -> DataFrame[learner_id, rank, resource_id, score]``.

    Rows come back in input order, each learner's list best first; ``k`` may differ per row
    (default 10 when the column is absent; when present, every row needs one: the signature
    types it as a long); an unknown learner id raises :class:`~recommender.errors.UnknownIdError`.
    ``params={"as_of": "2024-09-01T00:00:00Z"}`` judges availability at that moment.
    """

    def load_context(self, context: Any) -> None:
        config = getattr(context, "model_config", None) or {}
        bundle = load_bundle(context.artifacts[BUNDLE_ARTIFACT])
        self.core = delivery_core(bundle, str(config.get("index_factory", SERVING_INDEX)))
        self.policy = ListPolicy(**{name: float(config[name]) for name in POLICY_FIELDS
                                    if name in config})

    @property
    def bundle(self) -> Bundle:
        """The loaded bundle (what the registry checks a delivery-list model by)."""
        return self.core.served.bundle

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        as_of = (params or {}).get("as_of") or None
        return predict_lists(self.core, pd.DataFrame(model_input), as_of, self.policy)


def predict_lists(
    core: DeliveryCore, model_input: pd.DataFrame, as_of: object = None,
    policy: ListPolicy = ListPolicy(),
) -> pd.DataFrame:
    """Delivery lists for the learner ids (and optional per-row ``k``) in ``model_input``,
    availability judged at ``as_of`` (None: now)."""
    bundle = core.served.bundle
    if "learner_id" not in model_input.columns:
        raise InvalidParameterError("model_input", list(model_input.columns),
                                    "a DataFrame with a learner_id column")
    learner_idx = bundle.learner_map.indices_of(model_input["learner_id"].astype(str))
    if "k" in model_input.columns:
        k = model_input["k"].fillna(DEFAULT_K).to_numpy(dtype=np.int64)
    else:
        k = np.full(len(learner_idx), DEFAULT_K, dtype=np.int64)
    if len(k) and k.min() < 1:
        raise InvalidParameterError("k", int(k.min()), "an integer >= 1")
    now = moment(as_of)
    ids = bundle.learner_map.ids[learner_idx]
    requests: dict[int, ListRequest] = {}
    delivered = (
        (str(learner_id), core.deliver(core.learner(str(learner_id)), requests.setdefault(
            int(size), ListRequest.served(policy, k=int(size), now=now))))
        for learner_id, size in zip(ids.tolist(), k.tolist())
    )
    frame = pd.DataFrame(list_columns(delivered, reasons=False), columns=LIST_COLUMNS)
    return frame.astype({"rank": np.int32, "score": np.float32})


def log_pyfunc(bundle_dir: Path, index_factory: str = SERVING_INDEX,
               policy: ListPolicy = ListPolicy()) -> ModelInfo:
    """Log the pyfunc model (with the bundle directory as its artifact) to the active run.

    The signature documents the input; there is no input example, because MLflow checks one
    by loading the whole model again and predicting (a third of a second at 1M events) and
    only warns when that fails. The pipeline has already re-loaded and verified the bundle,
    and the tests load the logged model and compare its lists with the library's.
    """
    with warnings.catch_warnings():  # MLflow's advice to add one, on every run
        warnings.filterwarnings("ignore", message=".*input example was not provided")
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
            artifacts={BUNDLE_ARTIFACT: str(bundle_dir)},
            signature=SIGNATURE,
            pip_requirements=PIP_REQUIREMENTS,
            model_config={"index_factory": index_factory, "equal_service": policy.equal_service,
                          "calibration": policy.calibration},
        )
