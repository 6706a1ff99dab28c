"""Batch delivery export: each learner's list under their hard constraints and exclusions, with a
reason each, written in chunks, and never a half-written file (that it equals the API's list is
tests/test_front_ends.py's)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from recommender.bundle import build_bundle
from recommender.delivery import CatalogArrays, learner_profiles
from recommender.delivery.cards import title_keys
from recommender.delivery.rerank import PLAIN
from recommender.errors import DataValidationError
from recommender.features import build_feature_set
from recommender.models import ALSModel
from training import deliver
from training.deliver import export_delivery_lists, read_learner_ids


@pytest.fixture(scope="module")
def small_bundle(small_world):
    features = build_feature_set(small_world)
    model = ALSModel(factors=8, iterations=5).fit(features)
    bundle = build_bundle(model, None, features, {"version": "als-test"})
    return bundle, model, features


NOW = pd.Timestamp("2024-12-31T12:00", tz="UTC")  # the small world's as-of day: courses open now


def test_export_is_the_exact_allowed_top_k_with_a_reason(small_bundle, tmp_path) -> None:
    """Each learner's rows, plain lists (no re-rank): the best k resources their constraint
    mask allows, without what they are done with (checked against a brute-force scan for every
    learner placed by their trained vector), each with a reason; one row group per chunk."""
    bundle, _, _ = small_bundle
    out = tmp_path / "lists.parquet"
    stats = export_delivery_lists(bundle, out, k=10, chunk_size=37, now=NOW, index_factory="Flat",
                                  policy=PLAIN)
    lists = pd.read_parquet(out)
    assert list(lists.columns) == [
        "learner_id", "rank", "resource_id", "score", "reason", "reason_kind", "title",
        "category", "mode", "level", "language", "duration_minutes", "credit_hours", "provider",
        "provider_type", "region", "available_from", "available_until", "empty_reason",
        "empty_message"]
    assert stats.rows == len(lists) and stats.learners == len(bundle.learner_map)
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-len(bundle.learner_map) // 37)
    empty = lists["rank"].isna()
    assert lists.loc[~empty, "reason"].notna().all()
    assert lists.loc[empty, "empty_reason"].notna().all()
    lists = lists[~empty]
    # the item's facts are the catalog's; a region only for in-person resources
    facts = bundle.resources.set_index("resource_id").loc[lists["resource_id"]]
    for column in ("title", "category", "mode", "language", "provider", "provider_type"):
        assert lists[column].tolist() == facts[column].tolist(), column
    for column in ("duration_minutes", "credit_hours"):
        np.testing.assert_array_equal(lists[column].to_numpy(), facts[column].to_numpy())
    for column in ("available_from", "available_until"):  # ISO 8601 text, as the API's
        pd.testing.assert_series_equal(
            pd.to_datetime(lists[column], utc=True).reset_index(drop=True),
            pd.to_datetime(facts[column], utc=True).reset_index(drop=True),
            check_names=False, check_dtype=False)
    in_person = lists["mode"].isin(["offline", "blended"]).to_numpy()
    assert in_person.any() and (lists["region"].notna().to_numpy() == in_person).all()
    assert (lists["region"].to_numpy()[in_person] == facts["region"].to_numpy()[in_person]).all()
    titles = title_keys(bundle.resources["title"].to_numpy(dtype=object))

    catalog = CatalogArrays.build(bundle.resources, bundle.regions)
    profiles = learner_profiles(bundle.learners)
    grouped = dict(tuple(lists.groupby("learner_id", sort=False)))
    constrained = trained = 0
    for learner_idx, learner_id in enumerate(bundle.learner_map.ids):
        done = bundle.exclusions[learner_idx].indices
        allowed = catalog.mask(None, profiles[learner_idx], now=NOW)
        allowed[done] = False
        got = grouped.get(learner_id, lists.iloc[:0])
        assert got["rank"].tolist() == list(range(1, len(got) + 1))
        shown = bundle.resource_map.indices_of(got["resource_id"].tolist())
        assert len(shown) == min(10, len(set(titles[allowed]))) and allowed[shown].all()
        constrained += int((~catalog.mask(None, profiles[learner_idx], now=NOW)).any())
        if bundle.interactions[learner_idx].nnz:  # placed by the trained vector
            trained += 1
            scores = bundle.resource_factors @ bundle.learner_factors[learner_idx]
            ranked = np.flatnonzero(allowed)[np.argsort(-scores[allowed], kind="stable")]
            seen: set[str] = set()  # one resource per title, the best-scored
            best = np.array([i for i in ranked.tolist()
                             if not (titles[i] in seen or seen.add(titles[i]))][:10],
                            dtype=np.int64)
            assert shown.tolist() == best.tolist()
            np.testing.assert_allclose(got["score"], scores[best], rtol=1e-5, atol=1e-6)
    assert constrained > 0 and trained > 0  # the world has learners the constraints bind


def test_closed_and_out_of_place_resources_never_appear(small_bundle, tmp_path) -> None:
    bundle, _, _ = small_bundle
    resources = bundle.resources
    export_delivery_lists(bundle, tmp_path / "lists.parquet", k=30, now=NOW)
    lists = pd.read_parquet(tmp_path / "lists.parquet",
                            columns=["learner_id", "rank", "resource_id"]).dropna()
    facts = resources.set_index("resource_id")
    learners = bundle.learners.set_index("learner_id")
    rows = lists.join(facts[["mode", "region", "available_from", "available_until"]],
                      on="resource_id").join(
        learners[["region"]].rename(columns={"region": "region_learner"}), on="learner_id")
    in_person = rows["mode"].isin(["offline", "blended"])
    assert in_person.any()
    assert (rows.loc[in_person, "region"] == rows.loc[in_person, "region_learner"]).all()
    opens = pd.to_datetime(rows["available_from"], utc=True)
    closes = pd.to_datetime(rows["available_until"], utc=True)
    assert not (opens > NOW).any() and not (closes < NOW).any()
    closed = (pd.to_datetime(resources["available_until"], utc=True) < NOW).sum()
    assert closed > 0  # the world has closed courses to leave out


def test_chunk_size_does_not_change_the_file(small_bundle, tmp_path) -> None:
    bundle, _, _ = small_bundle
    export_delivery_lists(bundle, tmp_path / "a.parquet", k=5, chunk_size=1000)
    export_delivery_lists(bundle, tmp_path / "b.parquet", k=5, chunk_size=13)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"),
                                  pd.read_parquet(tmp_path / "b.parquet"))


def test_a_crash_leaves_no_file(small_bundle, tmp_path, monkeypatch) -> None:
    bundle, _, _ = small_bundle
    calls = {"n": 0}
    real = deliver.list_columns

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise MemoryError("injected")
        return real(*args, **kwargs)

    monkeypatch.setattr(deliver, "list_columns", crash_on_second)
    with pytest.raises(MemoryError):
        export_delivery_lists(bundle, tmp_path / "lists.parquet", chunk_size=50)
    assert list(tmp_path.iterdir()) == []


def test_a_learner_file_exports_those_learners_in_file_order(small_bundle, tmp_path) -> None:
    """``--learners FILE``: the subset's rows are the full export's rows for them, in file
    order; an id the bundle does not hold is named and nothing is written."""
    from typer.testing import CliRunner

    from recommender.bundle import save_bundle
    from training.cli import app

    bundle, _, _ = small_bundle
    everyone = pd.read_parquet(export_delivery_lists(
        bundle, tmp_path / "all.parquet", k=5, now=NOW, index_factory="Flat").path)
    chosen = [str(i) for i in bundle.learner_map.ids[[7, 2, 7, 11]]]  # a repeat: once
    (tmp_path / "learners.csv").write_text("learner_id\n" + "\n".join(chosen) + "\n")
    path = save_bundle(bundle, tmp_path / "bundle")
    result = CliRunner().invoke(app, [
        "deliver", "--bundle", str(path), "--out", str(tmp_path / "some.parquet"), "--k", "5",
        "--as-of", NOW.isoformat(), "--learners", str(tmp_path / "learners.csv")])
    assert result.exit_code == 0, result.output
    some = pd.read_parquet(tmp_path / "some.parquet")
    assert list(dict.fromkeys(some["learner_id"])) == list(dict.fromkeys(chosen))
    expected = pd.concat([everyone[everyone["learner_id"] == i] for i in dict.fromkeys(chosen)])
    columns = ["learner_id", "rank", "resource_id"]
    # (the full export's rank is nullable: some learner's empty list has a row saying why)
    pd.testing.assert_frame_equal(some[columns].reset_index(drop=True),
                                  expected[columns].reset_index(drop=True), check_dtype=False)

    (tmp_path / "bad.csv").write_text(f"learner_id\n{chosen[0]}\nnobody-1\n\nnobody-2\n")
    result = CliRunner().invoke(app, [
        "deliver", "--bundle", str(path), "--out", str(tmp_path / "bad.parquet"),
        "--learners", str(tmp_path / "bad.csv")])
    assert result.exit_code != 0
    assert "2 ids the bundle does not hold" in result.output and "'nobody-2'" in result.output
    assert not (tmp_path / "bad.parquet").exists()
    (tmp_path / "blank.csv").write_text(f"learner_id,note\n{chosen[0]},a\n ,b\n")
    result = CliRunner().invoke(app, [
        "deliver", "--bundle", str(path), "--out", str(tmp_path / "bad.parquet"),
        "--learners", str(tmp_path / "blank.csv")])
    assert result.exit_code != 0 and "1 problem(s) found" in result.output
    with pytest.raises(DataValidationError) as caught:
        read_learner_ids(tmp_path / "blank.csv")
    assert [(p.column, p.row) for p in caught.value.problems] == [("learner_id", 2)]
