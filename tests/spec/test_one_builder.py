"""One builder, one direction of imports: checked on the source tree itself."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]


def test_models_are_built_only_by_build_model() -> None:
    """Front ends never index MODELS to construct an estimator: selection.build_model does."""
    found = [f"{path.relative_to(ROOT)}:{number}"
             for path in _python_files("training", "experiments", "benchmarks")
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if "MODELS[" in line]
    assert found == []


def test_no_package_imports_a_front_end_above_it() -> None:
    """experiments/ and recommender/ never import training/; recommender/ never experiments/."""
    pattern = {"training": re.compile(r"^\s*(from|import)\s+training\b", re.M),
               "experiments": re.compile(r"^\s*(from|import)\s+experiments\b", re.M)}
    offending = []
    for folder, forbidden in (("experiments", ("training",)),
                              ("recommender", ("training", "experiments"))):
        for path in _python_files(folder):
            text = path.read_text(encoding="utf-8")
            offending += [f"{path.relative_to(ROOT)} imports {name}" for name in forbidden
                          if pattern[name].search(text)]
    assert offending == []
