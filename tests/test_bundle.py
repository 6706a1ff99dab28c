"""Bundles round-trip exactly and refuse anything incomplete or foreign."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recommender.bundle import FORMAT_VERSION, load_bundle, manifest_checksum, save_bundle
from recommender.errors import BundleError


def test_round_trip(tiny_bundle, tmp_path):
    save_bundle(tiny_bundle, tmp_path / "b")
    loaded = load_bundle(tmp_path / "b")
    np.testing.assert_array_equal(loaded.learner_factors, tiny_bundle.learner_factors)
    np.testing.assert_array_equal(loaded.resource_factors, tiny_bundle.resource_factors)
    assert loaded.learner_map == tiny_bundle.learner_map
    assert (loaded.exclusions != tiny_bundle.exclusions).nnz == 0
    assert loaded.version == "als-test"
    assert loaded.manifest["format_version"] == FORMAT_VERSION == 3
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


def _edit_manifest(path, reseal: bool = False, **changes) -> dict:
    """Change manifest fields in place; ``reseal`` recomputes its checksum (as a careless tool
    that rewrites the manifest would), a ``None`` value removes the field."""
    manifest = json.loads((path / "manifest.json").read_text())
    for key, value in changes.items():
        if value is None:
            manifest.pop(key, None)
        else:
            manifest[key] = value
    if reseal:
        manifest["manifest_sha256"] = manifest_checksum(manifest)
    (path / "manifest.json").write_text(json.dumps(manifest))
    return manifest


@pytest.mark.parametrize("field, value", [("version", "als-evil"), ("dim", 3),
                                          ("n_learners", 1), ("n_resources", 99)])
def test_an_edited_manifest_is_refused_by_its_checksum(tiny_bundle, tmp_path, field, value):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    assert load_bundle(path).checksum == json.loads(
        (path / "manifest.json").read_text())["manifest_sha256"]
    _edit_manifest(path, **{field: value})
    with pytest.raises(BundleError, match="manifest.json does not match its checksum"):
        load_bundle(path)


def test_a_manifest_without_its_checksum_is_refused_in_format_3(tiny_bundle, tmp_path):
    path = save_bundle(tiny_bundle, tmp_path / "b")
    _edit_manifest(path, manifest_sha256=None)
    with pytest.raises(BundleError, match="has no manifest_sha256"):
        load_bundle(path)


@pytest.mark.parametrize("field, value, says", [
    ("dim", 3, "the manifest says dim=3, but its learner vectors have"),
    ("n_learners", 1, "the manifest says n_learners=1, but its learner ids have"),
    ("n_resources", 99, "the manifest says n_resources=99, but its resource ids have"),
    ("n_learners", "4", "the manifest's n_learners is '4', not an integer"),
    ("model_state", True, "incomplete: state.json is missing"),
    ("version", "", "version '' is not a non-empty string"),
])
def test_the_manifest_is_checked_against_the_arrays(tiny_bundle, tmp_path, field, value, says):
    """Even a resealed manifest (or an old format without a checksum) must agree with what
    the arrays are."""
    path = save_bundle(tiny_bundle, tmp_path / "b")
    _edit_manifest(path, reseal=True, **{field: value})
    with pytest.raises(BundleError, match=says):
        load_bundle(path)
    _edit_manifest(path, manifest_sha256=None, format_version=2)  # today's format 2
    with pytest.raises(BundleError, match=says):
        load_bundle(path)


@pytest.mark.parametrize("format_version", [1, 2])
def test_bundles_in_earlier_formats_still_load(tiny_bundle, tmp_path, format_version):
    """Formats 1 and 2 carry no manifest checksum: they load, checked against their arrays,
    and their content checksum still covers the manifest (serving compares it)."""
    path = save_bundle(tiny_bundle, tmp_path / "b")
    old = _edit_manifest(path, manifest_sha256=None, format_version=format_version,
                         model_state=None if format_version == 1 else False)
    loaded = load_bundle(path)
    assert loaded.version == "als-test" and loaded.checksum == manifest_checksum(old)
    _edit_manifest(path, version="als-other")
    assert load_bundle(path).checksum != loaded.checksum


def test_resaving_a_loaded_bundle_seals_its_new_manifest(tiny_bundle, tmp_path):
    loaded = load_bundle(save_bundle(tiny_bundle, tmp_path / "b"))
    loaded.manifest["version"] = "als-renamed"
    again = load_bundle(save_bundle(loaded, tmp_path / "c"))
    assert again.version == "als-renamed" and again.checksum == loaded.checksum
