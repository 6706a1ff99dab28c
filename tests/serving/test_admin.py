"""POST /v1/admin/reload: an atomic swap to the bundle the source names now; a bundle that
fails verification is refused and the old one keeps serving; other workers follow."""

from __future__ import annotations

import json
import shutil
import time

from recommender.bundle import save_bundle
from serving_world import ADMIN, KEY, make_bundle



def test_reload_swaps_to_the_new_bundle_and_other_workers_follow(make_client, world, tmp_path,
                                                                  bundle_dir):
    source = tmp_path / "live"
    shutil.copytree(bundle_dir, source)
    with make_client(source=source) as worker_a, make_client(source=source) as worker_b:
        assert worker_a.get("/health").json()["bundle_version"] == "als-serving-1"
        save_bundle(make_bundle(world, "als-serving-2", seed=1), source)
        response = worker_a.post("/v1/admin/reload", headers=ADMIN)
        assert response.status_code == 200
        assert response.json() == {"bundle_version": "als-serving-2",
                                   "previous_version": "als-serving-1", "source": str(source)}
        listing = worker_a.get("/v1/learners/d0/recommendations", headers=KEY).json()
        assert listing["model_version"] == "als-serving-2"
        deadline = time.monotonic() + 10
        while worker_b.get("/health").json()["bundle_version"] != "als-serving-2":
            worker_b.get("/v1/learners/d0/recommendations", headers=KEY)  # polls the store
            assert time.monotonic() < deadline, "worker b never followed the reload"
            time.sleep(0.05)


def test_a_broken_bundle_is_refused_and_the_old_one_keeps_serving(make_client, tmp_path,
                                                                   bundle_dir):
    source = tmp_path / "live"
    shutil.copytree(bundle_dir, source)
    with make_client(source=source) as client:
        before = client.get("/v1/learners/d0/recommendations", headers=KEY).json()
        (source / "vectors.npz").write_bytes(b"garbage")  # checksum no longer matches
        refused = client.post("/v1/admin/reload", headers=ADMIN)
        assert refused.status_code == 503
        assert "vectors.npz does not match its manifest checksum" in refused.json()["detail"]
        after = client.get("/v1/learners/d0/recommendations", headers=KEY).json()
        assert after == before and client.get("/ready").json()["ready"] is True

        shutil.rmtree(source)
        shutil.copytree(bundle_dir, source)
        manifest = json.loads((source / "manifest.json").read_text())
        manifest["format_version"] = 99
        (source / "manifest.json").write_text(json.dumps(manifest))
        refused = client.post("/v1/admin/reload", headers=ADMIN)
        assert refused.status_code == 503 and "format_version 99" in refused.json()["detail"]
        assert client.get("/health").json()["bundle_version"] == "als-serving-1"
