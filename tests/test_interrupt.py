"""Ctrl-C or SIGTERM during a long solve returns the best network and its bound, no traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import exactrelu
from exactrelu.generate import generate
from exactrelu.methods.bnb.two_layer import load_kernels


@pytest.mark.skipif(sys.platform == "win32", reason="signals to a child need POSIX")
@pytest.mark.parametrize(
    ("sig", "method"), [("SIGINT", "auto"), ("SIGTERM", "auto"), ("SIGINT", "mip")]
)
def test_ctrl_c_returns_the_incumbent_and_its_bound(tmp_path, sig, method):
    # auto: the two-layer branch and bound (squared loss); mip: inside the MILPs
    X, y, _ = generate("planted-two-layer", 80, 3, seed=1, width=3)
    path = tmp_path / "big.npz"
    np.savez(path, X=X, y=y)
    cmd = [
        sys.executable,
        "-m",
        "exactrelu",
        "solve",
        str(path),
        "--arch",
        "two-layer",
        "--width",
        "3",
        "--method",
        method,
        "--json",
        "--quiet",
    ]
    # The child imports this exactrelu (not a checkout in the working directory, whose
    # kernels would be compiled first), with its kernels compiled or loaded already.
    load_kernels()
    child = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    time.sleep(6.0)  # past start-up and the heuristic, inside the search
    child.send_signal(getattr(signal, sig))
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert "Traceback" not in err
    cert = json.loads(out)
    assert cert["status"] == "interrupted"
    assert cert["method"] == ("bnb" if method == "auto" else method)
    network = exactrelu.TwoLayerNetwork(**cert["weights"])
    problem = exactrelu.Problem(X, y, arch="two-layer", width=3, weight_bound=2.0)
    assert cert["objective"] == pytest.approx(network.loss(problem.X, problem.y), rel=1e-12)
    assert 0.0 <= cert["bound"] <= cert["objective"]
