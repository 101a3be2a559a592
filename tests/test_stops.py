"""Why a solve stopped: a reason for every status but optimal, the time limit and Ctrl-C
while the MILPs are built, and data too large for the solvers' tolerances."""

from __future__ import annotations

import json
import os
import signal
import time

import numpy as np
import pytest
from helpers import assert_matches, certificate_weights, planted_one_node, random_problem
from oracle import brute_force

import exactrelu
from exactrelu import Problem, solve
from exactrelu.certificate import Status, Stop, make_certificate
from exactrelu.cli import main
from exactrelu.convex.convex_regression import shape_constrained_bound
from exactrelu.errors import InvalidInputError
from exactrelu.methods.mip import solve as mip_solve
from exactrelu.network.networks import OneNodeNetwork
from exactrelu.problem import MAX_MAGNITUDE


def check_loss(cert, problem):
    """The certificate's objective is its network's loss, recomputed without exactrelu."""
    weights = certificate_weights(cert)
    assert cert.objective == pytest.approx(
        weights.loss(problem.X, problem.y, problem.loss), rel=1e-12, abs=1e-14
    )
    assert cert.bound is None or cert.bound <= cert.objective


# ----------------------------------------------------------------------------------------
# reasons
# ----------------------------------------------------------------------------------------


def test_optimal_has_no_reason_and_the_json_says_null():
    problem = Problem(*planted_one_node(0, 8, 2))
    cert = solve(problem, method="mip")
    assert_matches(cert.objective, brute_force(problem.X, problem.y))
    assert cert.status == "optimal" and cert.reason is None
    assert json.loads(cert.to_json())["reason"] is None
    assert "reason" not in cert.summary()


def test_a_heuristic_says_it_proves_nothing(capsys, write_instance):
    problem = Problem(*planted_one_node(1, 8, 2))
    cert = solve(problem, method="gd")
    check_loss(cert, problem)
    assert cert.status == "feasible"
    assert "heuristic" in cert.reason and "exact method" in cert.reason
    path = write_instance("inst.csv", problem.X, problem.y)
    assert main(["solve", str(path), "--method", "gd", "--quiet"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "status     feasible"
    assert lines[2].startswith("reason     method gd is a heuristic")


def test_time_limit_names_the_open_sign_cases():
    problem = random_problem(5, 40, 3, loss="squared", arch="two-layer", width=3)
    cert = solve(problem, method="mip", time_limit=4.0, threads=1)
    check_loss(cert, problem)
    assert cert.status == "time_limit"
    assert "the time limit ran out" in cert.reason and "--time-limit" in cert.reason
    open_cases = [c for c in cert.details["case_summary"] if c["closed_by"] is None]
    if cert.details.get("cases_not_built"):
        assert "while the MILPs were being built" in cert.reason
    else:
        listed = ", ".join(str(c["positive_units"]) for c in open_cases)
        assert f"(by +1 output weights: {listed})" in cert.reason


@pytest.mark.parametrize(
    ("stop", "status", "words"),
    [
        (Stop.FINISHED, Status.NOT_PROVEN, "more than the tolerance"),
        (Stop.ERROR, Status.ERROR, "the solver failed"),
        (Stop.INTERRUPTED, Status.INTERRUPTED, "Ctrl-C"),
        (Stop.TIME_LIMIT, Status.TIME_LIMIT, "time limit"),
    ],
)
def test_every_other_status_has_a_reason(stop, status, words):
    problem = Problem(*planted_one_node(2, 6, 2), weight_bound=2.0)
    network = OneNodeNetwork(np.array([0.3, -0.2]), 0.1)
    # a bound far below the network's loss: the gap cannot be closed
    cert = make_certificate(problem, network, bound=0.0, stop=stop, seconds=1.0, method="mip")
    assert cert.status == status
    assert words in cert.reason
    assert cert.summary().splitlines()[2] == f"reason     {cert.reason}"
    # the method's own account replaces the general one (not_proven keeps both)
    own = make_certificate(
        problem, network, bound=0.0, stop=stop, seconds=1.0, method="mip", reason="because"
    )
    assert own.reason.endswith("(because)" if status == Status.NOT_PROVEN else "because")


def test_old_certificates_without_reason_still_load():
    problem = Problem(*planted_one_node(3, 6, 2))
    data = json.loads(solve(problem, method="gd").to_json())
    del data["reason"]
    assert exactrelu.Certificate.from_dict(data).reason is None


# ----------------------------------------------------------------------------------------
# the time limit and Ctrl-C while the MILPs are built
# ----------------------------------------------------------------------------------------


def _slow_cases(monkeypatch, seconds: float, on_case=None):
    """Make each sign case take ``seconds`` longer to build (a wide network's real cost)."""
    real = mip_solve.SignCase
    built = []

    def slow(*args, **kwargs):
        time.sleep(seconds)
        case = real(*args, **kwargs)
        built.append(case)
        if on_case is not None:
            on_case(len(built))
        return case

    monkeypatch.setattr(mip_solve, "SignCase", slow)
    return built


def test_time_limit_holds_while_the_milps_are_built(monkeypatch, capsys):
    problem = random_problem(7, 20, 2, loss="absolute", arch="two-layer", width=20)
    built = _slow_cases(monkeypatch, 0.4)
    limit = 3.0
    start = time.perf_counter()
    cert = solve(problem, method="mip", time_limit=limit, threads=1, progress=0.5)
    elapsed = time.perf_counter() - start
    # without the checks, 21 cases at 0.4 s each take more than 8 s
    assert elapsed < limit + 3.0
    assert len(built) < 21
    check_loss(cert, problem)
    assert cert.status == "time_limit" and cert.bound == 0.0
    assert cert.details["cases_not_built"] == 21 - len(built)
    assert f"({len(built)} of 21 sign cases built" in cert.reason
    lines = capsys.readouterr().err.splitlines()
    assert any("(building the MILPs: sign case" in line for line in lines), lines


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
def test_ctrl_c_holds_while_the_milps_are_built(monkeypatch):
    problem = random_problem(8, 20, 2, loss="absolute", arch="two-layer", width=20)
    # Ctrl-C as the third case is built: the search's handler sets the flag
    built = _slow_cases(
        monkeypatch, 0.0, lambda k: os.kill(os.getpid(), signal.SIGINT) if k == 3 else None
    )
    cert = solve(problem, method="mip", threads=1)
    assert len(built) == 3
    check_loss(cert, problem)
    assert cert.status == "interrupted" and cert.bound == 0.0
    assert "interrupted while the MILPs were being built (3 of 21" in cert.reason


def test_convex_regression_bound_stops_with_the_clock_and_ctrl_c():
    problem = random_problem(9, 25, 2, loss="squared", arch="two-layer", width=2)
    full = shape_constrained_bound(problem, 1.0)
    # stopped at once, it proves what it had proven: nothing
    assert shape_constrained_bound(problem, 1.0, interrupted=lambda: True) == 0.0
    assert shape_constrained_bound(problem, 1.0, time_limit=1e-9) == 0.0
    # stopped after the first LP, it is still a lower bound of the full one
    calls = []
    early = shape_constrained_bound(
        problem, 1.0, interrupted=lambda: calls.append(1) or len(calls) > 1
    )
    assert 0.0 <= early <= full * (1 + 1e-9)


# ----------------------------------------------------------------------------------------
# magnitudes
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("scale", [1e9, 1e12])
def test_targets_too_large_are_refused_with_the_row(scale, write_instance, capsys):
    X, y = planted_one_node(4, 10, 2)
    y = y * scale
    row = int(np.argmax(np.abs(y)))
    with pytest.raises(InvalidInputError, match=rf"y reaches .* \(row {row + 1}\).*rescale y"):
        Problem(X, y, weight_bound=2.0)
    path = write_instance("big.npz", X, y)
    code = main(["solve", str(path), "--weight-bound", "2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.splitlines()) == 1 and "rescale y" in err


def test_features_too_large_are_refused_through_the_big_m():
    X, y = planted_one_node(5, 10, 2)
    with pytest.raises(InvalidInputError, match=r"big-M values .* \(row \d+, B = 2\).*rescale X"):
        Problem(X * 1e12, y, weight_bound=2.0)
    # the same features with a box small enough keep the big-M values in range
    scale = MAX_MAGNITUDE / 10 / np.abs(X).sum(axis=1).max()
    Problem(X * scale, y, weight_bound=1.0)


def test_large_but_accepted_magnitudes_are_certified():
    # targets of magnitude 1e5: the certificate agrees with the brute force
    X, y = planted_one_node(6, 8, 2)
    y = y * 1e5
    problem = Problem(X, y, weight_bound=2e5)
    cert = solve(problem, method="mip")
    check_loss(cert, problem)
    assert cert.status == "optimal"
    assert_matches(cert.objective, brute_force(X, y, B=2e5))


def test_compare_notes_why_an_exact_method_stopped_short():
    from exactrelu.compare import compare, format_table
    from exactrelu.options import SolveOptions

    problem = random_problem(5, 40, 3, loss="squared", arch="two-layer", width=3)
    rows = compare(problem, SolveOptions(time_limit=2.0, threads=1), ["mip", "gd"])
    mip, gd = rows
    assert mip["status"] == "time_limit" and "the time limit ran out" in mip["note"]
    assert gd["status"] == "feasible" and gd["note"] == ""
    assert f"mip: {mip['note']}" in format_table(rows)
