"""Reproducible synthetic instances (planted networks with noise, misspecified targets, XOR).

Every generator takes ``n``, ``d``, ``noise`` and ``seed`` and returns ``(X, y, meta)``
where ``meta`` records how the data were made (it goes into the JSON sidecar).
Features are uniform on ``[-1, 1]^d``; planted weights are drawn inside the box of
radius 1, so the default weight bound (2) contains the planted network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, show
from exactrelu.files import check_output_path, write_text_atomically
from exactrelu.instances import save_instance
from exactrelu.problem import LOSSES, check_choice, check_positive

# Generated instances record a fixed box that holds their planted network (radius 1).
GENERATED_BOX = 2.0
FAMILIES = ("planted-one-node", "planted-two-layer", "misspecified", "xor")


def generate(
    family: str, n: int, d: int, *, noise: float = 0.1, seed: int = 0, width: int = 2
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Make an instance of ``family``.

    Parameters
    ----------
    family : {"planted-one-node", "planted-two-layer", "misspecified", "xor"}
        ``planted-*``: ``y = f(x) + noise·N(0, 1)`` for a random network of the class;
        ``misspecified``: a smooth target no ReLU network fits exactly,
        ``y = sin(2 x·u) + noise·N(0, 1)``; ``xor``: labels ``±1`` = sign(x_1 x_2),
        each flipped with probability ``noise`` (for hinge loss).
    n, d : int
        Samples and features (``xor`` needs ``d >= 2``).
    noise : float, default 0.1
    seed : int, default 0
    width : int, default 2
        Hidden units of ``planted-two-layer``.

    Returns
    -------
    X : ndarray of shape (n, d)
    y : ndarray of shape (n,)
    meta : dict
    """
    n = check_positive("n", n, integer=True)
    d = check_positive("d", d, integer=True)
    if not np.isfinite(noise) or noise < 0:
        raise InvalidInputError(f"noise must be a finite number >= 0, got {show(noise)}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    meta: dict[str, Any] = {"family": family, "n": n, "d": d, "noise": noise, "seed": seed}
    if family == "planted-one-node":
        w = rng.uniform(-1.0, 1.0, size=d)
        b = rng.uniform(-0.5, 0.5)
        y = np.maximum(0.0, X @ w + b) + noise * rng.standard_normal(n)
        meta.update(arch="one-node", planted={"w": w.tolist(), "b": float(b)})
    elif family == "planted-two-layer":
        width = check_positive("width", width, integer=True)
        W = rng.uniform(-1.0, 1.0, size=(width, d))
        b = rng.uniform(-0.5, 0.5, size=width)
        v = np.where(np.arange(width) % 2 == 0, 1.0, -1.0)
        y = np.maximum(0.0, X @ W.T + b) @ v + noise * rng.standard_normal(n)
        meta.update(
            arch="two-layer",
            width=width,
            planted={"W": W.tolist(), "b": b.tolist(), "v": v.tolist(), "c": 0.0},
        )
    elif family == "misspecified":
        u = rng.standard_normal(d)
        u /= np.linalg.norm(u)
        y = np.sin(2.0 * X @ u) + noise * rng.standard_normal(n)
        meta.update(arch="one-node")
    elif family == "xor":
        if d < 2:
            raise InvalidInputError("the xor family needs d >= 2")
        y = np.where(X[:, 0] * X[:, 1] > 0, 1.0, -1.0)
        flip = rng.random(n) < noise
        y[flip] *= -1.0
        meta.update(arch="two-layer", width=2, loss="hinge")
    else:
        raise InvalidInputError(f"family must be one of {', '.join(FAMILIES)}; got {family!r}")
    return X, y, meta


def write_generated(
    family: str,
    n: int,
    d: int,
    out: str | Path,
    *,
    noise: float = 0.1,
    seed: int = 0,
    width: int = 2,
    loss: str | None = None,
    force: bool = False,
) -> Path:
    """Generate an instance and write it to ``out`` (``.npz`` or ``.csv``) with its sidecar.

    Parameters
    ----------
    family, n, d, noise, seed, width
        As for :func:`exactrelu.generate.generate`.
    out : path
        Instance file; its suffix picks the format. The sidecar is ``out`` with ``.json``.
    loss : str, optional
        Loss recorded in the sidecar (default: ``hinge`` for ``xor``, else ``squared``).
    force : bool, default False
        Overwrite existing files (otherwise refuse: a library file is not clobbered).

    Raises
    ------
    InvalidInputError
        Bad arguments, an unknown suffix, a missing directory or an existing file.
    """
    out = check_output_path(out, suffixes=(".npz", ".csv"))
    sidecar = out.with_suffix(".json")
    if not force:
        for path in (out, sidecar):
            if path.exists():
                raise InvalidInputError(f"{path} exists (use --force to overwrite)")
    X, y, meta = generate(family, n, d, noise=noise, seed=seed, width=width)
    loss = check_choice("loss", loss, LOSSES) if loss else meta.get("loss", "squared")
    record = {"arch": meta["arch"], "loss": loss, "B": GENERATED_BOX, "generator": meta}
    if meta["arch"] == "two-layer":
        record["width"] = meta.get("width", width)
    save_instance(out, X, y)
    write_text_atomically(sidecar, json.dumps(record, indent=2) + "\n")
    return out
