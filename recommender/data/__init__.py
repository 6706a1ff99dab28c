"""Loading and validating the data contract (learners, resources, events, regions)."""

from recommender.data.dataset import Dataset
from recommender.data.io import load_directory, load_files, read_table, write_dataset
from recommender.data.validate import validate_dataset

__all__ = [
    "Dataset", "load_directory", "load_files", "read_table", "validate_dataset", "write_dataset",
]
