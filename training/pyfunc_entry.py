"""The models-from-code entry of the pyfunc flavour: MLflow runs this file to get the model.

Logged by path (MLflow's recommended way) instead of pickling an object, so loading a model
executes reviewed code from this package rather than unpickling bytes.
"""

import mlflow

from training.pyfunc_model import DeliveryListModel

mlflow.models.set_model(DeliveryListModel())
