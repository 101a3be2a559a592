"""Instances that once broke the MIP, each checked against the brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_certifies
from oracle import brute_force

import exactrelu


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_zero_sample_without_bias_keeps_its_positive_residual(loss):
    # A sample x = 0 without bias always predicts 0, so it carries no binary; its
    # residual y > 0 must not be clipped like those of samples with y <= 0 (the
    # outer approximation stalled at a 1% gap when it was).
    rng = np.random.default_rng(5)
    X = np.round(rng.normal(size=(7, 2)))
    X[3] = 0.0
    y = rng.normal(size=7)
    y[3] = 0.25
    problem = exactrelu.Problem(X, y, loss=loss, bias=False, weight_bound=2.0)
    cert = exactrelu.solve(problem, method="mip")
    oracle = brute_force(X, y, loss=loss, bias=False)
    assert cert.status == "optimal"
    assert cert.objective == pytest.approx(oracle.loss, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize(("seed", "loss"), [(1, "squared"), (3, "absolute")])
def test_sign_case_pruned_by_the_cutoff_counts_as_proven(seed, loss):
    # Under the cutoff's per-sample restrictions a sign case that cannot beat the
    # incumbent is infeasible; HiGHS says so, and that is a proof, not an error.
    # (Without the convexity bound, which would close such cases before any MILP.)
    from exactrelu.methods.mip import MipSettings

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(6, 2))
    y = rng.normal(size=6)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    cert = exactrelu.solve(problem, method="mip", settings=MipSettings(convexity_bound=False))
    oracle = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    assert cert.details["pruned_by_cutoff"] >= 1
    assert_certifies(cert, oracle)


def test_threads_option_in_a_fresh_process():
    # HiGHS sizes its thread scheduler once per process; the heuristic start solves
    # QPs before the MILP asks for its thread count, which HiGHS refuses unless the
    # scheduler is resized.
    import subprocess
    import sys

    code = (
        "import numpy as np, exactrelu\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(8, 2))\n"
        "y = np.maximum(0, X @ [1.0, -1.0]) + 0.1 * rng.normal(size=8)\n"
        "c = exactrelu.solve(exactrelu.Problem(X, y, weight_bound=2.0), threads=1)\n"
        "print(c.status)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "optimal"


@pytest.mark.parametrize("loss", ["squared", "absolute", "hinge"])
def test_sign_cases_side_by_side_match_brute_force(loss):
    # Force every sign case past the first visit (no convexity closing, a first visit too
    # short to settle anything) so that they are solved in two threads at once.
    from exactrelu.methods.mip import MipSettings

    settings = MipSettings(convexity_bound=False, warmup_seconds=1e-4)
    rng = np.random.default_rng(11)
    X = rng.normal(size=(6, 2))
    y = np.sign(rng.normal(size=6)) if loss == "hinge" else rng.normal(size=6)
    problem = exactrelu.Problem(X, y, arch="two-layer", width=2, loss=loss, weight_bound=2.0)
    side_by_side = exactrelu.solve(problem, method="mip", threads=2, settings=settings)
    one_by_one = exactrelu.solve(problem, method="mip", threads=1, settings=settings)
    oracle = brute_force(X, y, arch="two-layer", width=2, loss=loss)
    assert side_by_side.details["cases_side_by_side"] == 2
    assert one_by_one.details["cases_side_by_side"] == 0
    for cert in (side_by_side, one_by_one):
        assert_certifies(cert, oracle)
