"""``exactrelu plot KIND ...``: PNG figures from benchmark results (matplotlib, optional).

Kinds:

* ``time RESULTS --out F``: seconds against n per method (log-log); hollow markers are
  runs stopped by the time limit or the user (their time is a lower bound), crosses runs
  that ended without a proof (``not_proven``, ``error``).
* ``gap RESULTS --out F``: relative excess loss ``(loss - optimum) / optimum`` of the
  heuristics (``gd``, ``approx``) against n, on instances with a certified optimum.
* ``trace INSTANCE --out F``: the best loss and the proven bound against time during one
  ``mip`` solve (read from the solver's progress lines).
* ``fit INSTANCE --out F``: the network each method returns, on a 1-D instance (curves
  over the data) or a 2-D one (one panel per method, prediction as a filled contour).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, MissingDependencyError
from exactrelu.files import check_output_path, write_or_keep

HEURISTICS = ("gd", "approx")
# `[    12.3 s] best loss 0.31  bound 0.29  gap 6.2e-02  ...` (exactrelu.methods.mip)
PROGRESS_LINE = re.compile(r"\[\s*([0-9.]+) s\] best loss (\S+)\s+bound (\S+)\s+gap")


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot", "exactrelu plot") from None
    matplotlib.use("Agg")  # files only: never needs a display
    import matplotlib.pyplot as plt

    return plt


def _check_out(out: str | Path) -> Path:
    """``--out``, checked before the figure's work (a solve may come first)."""
    return check_output_path(out, suffixes=(".png",))


def _save(fig, out: Path) -> Path:
    """Write the figure; if ``out`` fails after all, it is kept elsewhere and the error
    says where (:func:`~exactrelu.files.write_or_keep`)."""
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=120)
    return write_or_keep(out, image.getvalue())


def _rows(results: str | Path) -> list[dict[str, Any]]:
    from exactrelu.bench.store import read_results

    path = Path(results)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such results file")
    rows = [r for r in read_results(path) if r.get("loss") is not None and r.get("n")]
    if not rows:
        raise InvalidInputError(f"{path}: no finished runs to plot")
    return rows


def how_it_ended(status: str) -> str:
    """How ``plot time`` draws a run: ``finished`` (filled: its time is the time to
    finish), ``stopped`` (hollow: the time limit or the user stopped it, so its time is a
    lower bound) or ``unproven`` (a cross: it ended on its own, fast or not, without a
    proof: ``not_proven``, ``error``)."""
    if status in ("optimal", "feasible"):
        return "finished"
    if status in ("time_limit", "interrupted"):
        return "stopped"
    return "unproven"


def plot_time(results: str | Path, out: str | Path) -> Path:
    """Seconds against n per method, log-log; hollow markers: not finished."""
    out = _check_out(out)
    plt = _pyplot()
    rows = _rows(results)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for method in sorted({r["method"] for r in rows}):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
        n = np.array([r["n"] for r in mine], float)
        t = np.array([max(r["seconds"], 1e-3) for r in mine])
        ends = np.array([how_it_ended(r["status"]) for r in mine])
        done = ends == "finished"
        (line,) = ax.plot(n[done], t[done], "o-", label=method, alpha=0.85)
        color = line.get_color()
        stopped = ends == "stopped"
        ax.plot(n[stopped], t[stopped], "o", mfc="none", color=color)
        unproven = ends == "unproven"
        ax.plot(n[unproven], t[unproven], "x", color=color)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="n (samples)",
        ylabel="seconds",
        title="Time to finish (hollow: stopped by the clock or the user; x: no proof)",
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, out)


def plot_gap(results: str | Path, out: str | Path) -> Path:
    """Relative excess loss of the heuristics against n (certified instances only)."""
    out = _check_out(out)
    plt = _pyplot()
    rows = [
        r
        for r in _rows(results)
        if r["method"].split(":")[0] in HEURISTICS
        and r.get("reference") is not None
        and r.get("check") == "ok"
    ]
    if not rows:
        raise InvalidInputError(f"{results}: no gd or approx runs on instances with a reference")
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    floor = 1e-10  # a heuristic that finds the optimum is drawn on the floor, not dropped
    for method in sorted({r["method"] for r in rows}):
        mine = sorted((r for r in rows if r["method"] == method), key=lambda r: r["n"])
        n = [r["n"] for r in mine]
        gap = [
            max((r["loss"] - r["reference"]) / max(abs(r["reference"]), 1e-9), floor) for r in mine
        ]
        ax.plot(n, gap, "o", label=method, alpha=0.8)
    ax.axhline(floor, color="grey", lw=0.8, ls=":")
    ax.set_ylim(floor / 3, None)  # all heuristics optimal: keep a readable axis
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="n (samples)",
        ylabel="(loss - optimum) / optimum",
        title=f"Heuristics against the certified optimum (at {floor:g}: optimal)",
    )
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, out)


def trace_solve(
    instance: str | Path, time_limit: float | None = 60.0, every: float = 0.1
) -> tuple[list[tuple[float, float, float]], Any]:
    """Solve ``instance`` by ``mip``; return ``[(seconds, best loss, bound)]``, certificate.

    The points are the solver's own progress lines (printed every ``every`` seconds and at
    the end of each round), so the trace is what the solver knew at the time.
    """
    from exactrelu.instances import load_instance
    from exactrelu.solve import solve

    problem = load_instance(instance).problem()
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer):
        cert = solve(problem, time_limit=time_limit, progress=every)
    points = []
    for match in PROGRESS_LINE.finditer(buffer.getvalue()):
        points.append((float(match[1]), float(match[2]), float(match[3])))
    points.append((cert.seconds, cert.objective, cert.bound if cert.bound is not None else 0.0))
    return points, cert


def plot_trace(instance: str | Path, out: str | Path, time_limit: float | None = 60.0) -> Path:
    """Best loss and proven bound against time during one ``mip`` solve."""
    out = _check_out(out)
    plt = _pyplot()
    points, cert = trace_solve(instance, time_limit)
    t, best, bound = (np.array(c) for c in zip(*points, strict=True))
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.step(t, best, where="post", label="best loss (upper bound)")
    ax.step(t, bound, where="post", label="proven lower bound")
    ax.set(
        xlabel="seconds",
        ylabel="loss",
        title=f"{Path(instance).stem}: mip, {cert.status} in {cert.seconds:.1f} s",
    )
    ax.legend()
    ax.grid(True, alpha=0.3)
    return _save(fig, out)


def plot_fit(
    instance: str | Path, out: str | Path, methods: list[str], time_limit: float | None = 60.0
) -> Path:
    """The network of each method on a 1-D or 2-D instance."""
    out = _check_out(out)
    from exactrelu.bench.executors import run_method
    from exactrelu.instances import load_instance

    plt = _pyplot()
    problem = load_instance(instance).problem()
    if problem.d not in (1, 2):
        raise InvalidInputError(f"{instance}: fit plots need d = 1 or 2, got d = {problem.d}")
    certs = {
        m: run_method(m, problem, time_limit=time_limit, threads=None, seed=0) for m in methods
    }
    X, y = problem.X, problem.y
    if problem.d == 1:
        fig, ax = plt.subplots(figsize=(6.4, 4.4))
        ax.scatter(X[:, 0], y, s=14, color="black", label="data", zorder=3)
        grid = np.linspace(X[:, 0].min(), X[:, 0].max(), 400)[:, None]
        for m, cert in certs.items():
            ax.plot(
                grid[:, 0],
                cert.network.predict(grid),
                label=f"{m} ({cert.status}, loss {cert.objective:.4g})",
            )
        ax.set(xlabel="x", ylabel="y", title=f"{Path(instance).stem}: fitted networks")
        ax.legend(fontsize=8)
        return _save(fig, out)
    fig, axes = plt.subplots(1, len(certs), figsize=(4.2 * len(certs), 3.9), squeeze=False)
    g0 = np.linspace(X[:, 0].min(), X[:, 0].max(), 120)
    g1 = np.linspace(X[:, 1].min(), X[:, 1].max(), 120)
    G0, G1 = np.meshgrid(g0, g1)
    grid = np.column_stack([G0.ravel(), G1.ravel()])
    for ax, (m, cert) in zip(axes[0], certs.items(), strict=True):
        Z = cert.network.predict(grid).reshape(G0.shape)
        contour = ax.contourf(G0, G1, Z, levels=20, cmap="viridis")
        ax.scatter(X[:, 0], X[:, 1], c=y, cmap="viridis", edgecolors="white", s=22)
        ax.set(title=f"{m}: {cert.status}, loss {cert.objective:.4g}", xlabel="x1", ylabel="x2")
        fig.colorbar(contour, ax=ax)
    return _save(fig, out)


# ---------------------------------------------------------------------------------------
# landscapes (exactrelu landscape, benchmarks/studies/landscape)
# ---------------------------------------------------------------------------------------

MAX_PANELS = 12  # loss distributions drawn at most; --select picks others


def read_landscapes(results: str | Path) -> list[Any]:
    """Every landscape in a file: the ``--out`` file or ``--json`` output of
    ``exactrelu landscape`` (one), or a study's results (one row per instance and width,
    each holding its landscapes; :mod:`exactrelu.bench.landscape_study`)."""
    from exactrelu.bench.store import read_results
    from exactrelu.landscapes import LandscapeReport

    path = Path(results)
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such results file")
    rows = read_results(path)
    if any(row.get("kind") == "settings" for row in rows):
        return [LandscapeReport.from_rows(rows)]
    reports = []
    for row in rows:
        for item in row.get("landscapes") or []:
            reports.append(
                LandscapeReport.from_rows([item["settings"], item["certificate"], *item["runs"]])
            )
    if not reports:
        raise InvalidInputError(f"{path}: no landscape in it (exactrelu landscape --out FILE)")
    return reports


def _landscape_panel(ax, report) -> None:
    """ECDF of the final losses; the best loss, the bound and 1 % / 10 % above marked."""
    losses = np.sort([run.loss for run in report.runs])
    share = np.arange(1, losses.size + 1) / losses.size
    best, bound = report.best_loss, report.bound
    # the ECDF starts at 0 on the least loss
    ax.step(
        np.r_[losses[0], losses],
        np.r_[0.0, share],
        where="post",
        color="black",
        lw=1.2,
        label="runs (ECDF)",
    )
    dead = [run.loss for run in report.runs if run.dead_units]
    same = [run.loss for run in report.runs if run.pattern_match]
    ax.plot(dead, np.zeros(len(dead)) + 0.02, "x", color="tab:red", ms=5, label="a dead unit")
    ax.plot(
        same, np.zeros(len(same)) + 0.06, "|", color="tab:green", ms=8, label="optimum's pattern"
    )
    status = "optimum" if report.certified else f"best loss ({report.certificate.status})"
    ax.axvline(best, color="tab:green", lw=1.5, label=f"{status} {best:.4g}")
    if bound is not None and bound < best * (1 - 1e-6):
        ax.axvline(bound, color="tab:red", ls="--", lw=1.2, label=f"proven bound {bound:.4g}")
    for level, style in ((0.01, ":"), (0.10, "-.")):
        ax.axvline(best + level * max(best, report.floor), color="grey", ls=style, lw=0.8)
    positive = losses[losses > 0]
    if positive.size and positive.max() > 20 * max(positive.min(), 1e-300):
        from matplotlib.ticker import NullFormatter

        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap
    s = report.settings
    wider = f" trained at width {s['train_width']}" if report.wider else ""
    ax.set(
        xlabel="final loss (dotted: +1 %, dash-dot: +10 %)",
        ylabel="share of runs",
        ylim=(-0.11, 1.03),
        title=f"{s['name'] or 'landscape'}: width {s['width']}{wider}, {len(report.runs)} runs",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7, loc="center right")
    ax.grid(True, alpha=0.3)


def plot_landscape(results: str | Path, out: str | Path, select: str | None = None) -> Path:
    """Distribution of the final losses of gradient descent, the optimum and bound marked.

    One panel per landscape in ``results`` (at most ``MAX_PANELS``); ``select`` keeps
    those whose instance name contains it.
    """
    plt = _pyplot()
    reports = read_landscapes(results)
    if select:
        reports = [r for r in reports if select in (r.settings.get("name") or "")]
        if not reports:
            raise InvalidInputError(f"{results}: no landscape of an instance matching {select!r}")
    reports = reports[:MAX_PANELS]
    cols = min(3, len(reports))
    rows = -(-len(reports) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.6 * rows), squeeze=False)
    for ax, report in zip(axes.ravel(), reports, strict=False):
        _landscape_panel(ax, report)
    for ax in axes.ravel()[len(reports) :]:
        ax.axis("off")
    return _save(fig, out)


def plot_landscape_shares(results: str | Path, out: str | Path) -> Path:
    """Share of runs within 1 % of the optimum against n: a study's summary figure.

    Panels: data family (columns) × trained width, the certified ``H`` or wider
    (rows); one line per certified width and dimension d.
    """
    plt = _pyplot()
    reports = read_landscapes(results)
    families = sorted({r.settings.get("family") or "data" for r in reports})
    extra = sorted({r.settings["train_width"] - r.settings["width"] for r in reports})
    fig, axes = plt.subplots(
        len(extra), len(families), figsize=(4.4 * len(families), 3.4 * len(extra)), squeeze=False
    )
    colours = {1: "tab:blue", 2: "tab:orange", 3: "tab:green", 4: "tab:red"}
    for i, more in enumerate(extra):
        for j, family in enumerate(families):
            ax = axes[i][j]
            mine = [
                r
                for r in reports
                if (r.settings.get("family") or "data") == family
                and r.settings["train_width"] - r.settings["width"] == more
            ]
            for width, d in sorted({(r.settings["width"], r.settings["d"]) for r in mine}):
                line = sorted(
                    (r for r in mine if (r.settings["width"], r.settings["d"]) == (width, d)),
                    key=lambda r: r.settings["n"],
                )
                n = [r.settings["n"] for r in line]
                share = [r.summary_dict()["within_1pct"] for r in line]
                closed = [r.certified for r in line]
                (drawn,) = ax.plot(
                    n,
                    share,
                    "-" if d == 2 else "--",
                    color=colours.get(width, "black"),
                    label=f"width {width}, d = {d}",
                )
                # hollow: the certificate did not close (judged against the best loss)
                for x, v, c in zip(n, share, closed, strict=True):
                    ax.plot(
                        x, v, "o", color=drawn.get_color(), mfc=drawn.get_color() if c else "none"
                    )
            trained = "the certified width" if more == 0 else f"width + {more}"
            ax.set(
                xlabel="n (samples)",
                ylabel="share of runs within 1 %",
                ylim=(-0.03, 1.03),
                title=f"{family}: trained at {trained}",
            )
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize=7)
    fig.suptitle(
        "Gradient descent against the certified optimum (hollow: not certified)", fontsize=10
    )
    return _save(fig, out)
