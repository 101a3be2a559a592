"""The instance library: index, sidecars, provenance, size, reproducibility, and the
reference optima of the trivial instances re-solved by two independent exact methods."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from exactrelu import load_instance, solve
from exactrelu.bench.checks import tolerance
from exactrelu.bench.library import INDEX_COLUMNS, read_index
from exactrelu.generate import generate

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
ORIGINAL = [
    "planted-one-node-n40-d2.npz",
    "misspecified-n30-d2.csv",
    "planted-two-layer-n20-d2.csv",
    "xor-n24-d2.npz",
]
INDEX = read_index(INSTANCES)
SIDECARS = {p.stem: json.loads(p.read_text()) for p in sorted(INSTANCES.glob("*.json"))}


def test_original_instances_are_kept():
    for name in ORIGINAL:
        assert (INSTANCES / name).is_file()
        assert Path(name).stem in {row["name"] for row in INDEX}


def test_index_has_one_row_per_instance_with_every_column():
    data = sorted(
        p.stem for p in INSTANCES.iterdir() if p.suffix in (".npz", ".csv") and p.stem != "index"
    )
    assert sorted(row["name"] for row in INDEX) == data
    for row in INDEX:
        assert tuple(row) == INDEX_COLUMNS
        instance = load_instance(INSTANCES / row["file"])
        assert instance.X.shape == (int(row["n"]), int(row["d"]))
        assert row["tier"] in ("trivial", "easy", "medium", "frontier")
        assert row["status"] in ("certified", "certified-single", "open")


def test_library_spans_families_and_the_frontier():
    families = {row["family"] for row in INDEX}
    assert {"planted-one-node", "planted-two-layer", "misspecified", "xor", "real"} <= families
    noise = {
        float(r["noise"])
        for r in INDEX
        if r["family"] == "planted-one-node" and r["n"] == "40" and r["d"] == "2"
    }
    assert len(noise) >= 3  # several noise levels at one size
    assert any(row["status"] == "open" for row in INDEX)  # beyond what is certified today
    assert any(row["tier"] == "trivial" for row in INDEX)


def test_library_is_small_on_disk():
    assert sum(p.stat().st_size for p in INSTANCES.iterdir() if p.is_file()) < 2_000_000


@pytest.mark.parametrize("name", sorted(SIDECARS))
def test_references_agree_wherever_methods_finished(name):
    """Every method that proved optimality agrees; 'certified' needs two of them."""
    meta = SIDECARS[name]
    if "agreed" not in meta:
        pytest.skip(f"{name}: reference not computed yet (run instances/make_instances.py)")
    finished = [entry.split(" ")[0] for entry in meta["solved_by"] if "(optimal," in entry]
    assert sorted(finished) == sorted(meta["agreed"])
    if meta["status"] == "certified":
        assert len(meta["agreed"]) >= 2
        assert meta["bound"] <= meta["optimum"] + tolerance(meta["optimum"])
    elif meta["status"] == "certified-single":
        assert len(meta["agreed"]) == 1
    else:
        assert not meta["agreed"] and "best_known" in meta and "optimum" not in meta
        assert meta["bound"] is None or meta["bound"] <= meta["best_known"] + 1e-9


@pytest.mark.parametrize("name", sorted(n for n, m in SIDECARS.items() if "generator" in m))
def test_synthetic_instances_regenerate_from_their_sidecar(name):
    meta = SIDECARS[name]
    gen = meta["generator"]
    X, y, _ = generate(
        gen["family"],
        gen["n"],
        gen["d"],
        noise=gen["noise"],
        seed=gen["seed"],
        width=gen.get("width", 2),
    )
    path = next(p for p in (INSTANCES / f"{name}.npz", INSTANCES / f"{name}.csv") if p.exists())
    instance = load_instance(path)
    np.testing.assert_allclose(instance.X, X, rtol=0, atol=1e-15)
    np.testing.assert_allclose(instance.y, y, rtol=0, atol=1e-15)


def test_real_data_record_provenance_and_a_permissive_licence():
    real = {n: m for n, m in SIDECARS.items() if m.get("family") == "real"}
    assert real, "the library ships real data sets"
    for meta in real.values():
        assert meta["source"] and meta["preprocessing"]
        assert "BSD-3-Clause" in meta["licence"]


@pytest.mark.parametrize(
    "name", sorted(n for n, m in SIDECARS.items() if m.get("tier") == "trivial")
)
def test_trivial_references_resolve_with_mip_and_enumerate(name):
    path = next(p for p in (INSTANCES / f"{name}.npz", INSTANCES / f"{name}.csv") if p.exists())
    instance = load_instance(path)
    opt = instance.meta["optimum"]
    for method in ("mip", "enumerate"):
        cert = solve(instance.problem(), method=method, time_limit=30)
        assert cert.status == "optimal"
        assert abs(cert.objective - opt) <= tolerance(opt)
