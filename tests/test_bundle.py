"""Bundles round-trip exactly and refuse anything incomplete or foreign."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.bundle import load_bundle, save_bundle
from recommender.errors import BundleError


def test_round_trip(tiny_bundle, tmp_path):
    save_bundle(tiny_bundle, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(loaded.learner_factors, tiny_bundle.learner_factors)
    np.testing.assert_array_equal(loaded.resource_factors, tiny_bundle.resource_factors)
    assert loaded.learner_map == tiny_bundle.learner_map
    assert (loaded.exclusions != tiny_bundle.exclusions).nnz == 0
    assert loaded.version == "als-test"
    assert loaded.manifest["format_version"] == 2
    assert list(loaded.resources["title"]) == list(tiny_bundle.resources["title"])


def test_tampered_file_is_refused(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    (path / "vectors.npz").write_bytes(b"not numpy")
    with pytest.raises(BundleError, match="vectors.npz does not match its manifest checksum"):
        load_bundle(path)


def test_unknown_format_version_is_refused(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="format_version 99"):
        load_bundle(path)


def test_missing_part_and_missing_bundle(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    (path / "exclusions.npz").unlink()
    with pytest.raises(BundleError, match="exclusions.npz is missing"):
        load_bundle(path)
    with pytest.raises(BundleError, match="manifest.json is missing"):
        load_bundle(tmp_path / "nowhere")


def test_save_replaces_whole_and_refuses_misaligned(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    save_bundle(tiny_bundle, path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]  # no staging left behind
    tiny_bundle.learner_factors = tiny_bundle.learner_factors[:3]
    with pytest.raises(BundleError, match="learner_factors"):
        save_bundle(tiny_bundle, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_learner_profiles_and_history_round_trip(tiny_bundle, tmp_path):
    loaded = load_bundle(save_bundle(tiny_bundle, tmp_path / "b"))
    assert list(loaded.learners["group"]) == list(tiny_bundle.learners["group"])
    np.testing.assert_allclose(loaded.interactions.toarray(), tiny_bundle.interactions.toarray())
