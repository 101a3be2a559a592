"""Build the instance library: data files, JSON sidecars with cross-checked reference optima,
and the index ``instances/index.csv``.

    python instances/make_instances.py                 # compute missing references
    python instances/make_instances.py --only NAME     # (re)compute one instance
    python instances/make_instances.py --force         # recompute every reference
    python instances/make_instances.py --index-only    # rewrite index.csv from sidecars

Synthetic instances come from :func:`exactrelu.generate.generate` with the recorded seed
(``exactrelu generate`` makes new ones the same way). Real data sets come from copies
bundled with scikit-learn (BSD-3-Clause); their original provenance and licence go into
the sidecar. Data files that already exist are not rewritten, so the four original
instances (and the README quick start) stay byte-identical.

References: every exact method that applies runs (:func:`exactrelu.bench.library.
reference_methods`: ``mip``, ``enumerate``, ``gurobi``, ``scip``); the sidecar records
which agreed. Tiers: *trivial* (tests re-solve them), *easy*, *medium*, *frontier*
(beyond what any solver here certifies in the time given: ``status`` is ``open`` with
the best known loss and the best proven bound).
"""

# ruff: noqa: E501  (the instance table reads best one instance per line)
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from exactrelu import Problem, save_instance
from exactrelu.bench.library import compute_reference, write_index
from exactrelu.generate import generate

HERE = Path(__file__).parent
WEIGHT_BOUND = 2.0
# Seconds per exact method when computing a reference, by tier.
TIME_LIMITS = {"trivial": 30.0, "easy": 120.0, "medium": 120.0, "frontier": 30.0}

# name, family, n, d, noise, seed, arch, width, loss, suffix, tier
# fmt: off
SYNTHETIC = [
    # the four original instances (names and data fixed: the README uses the first)
    ("planted-one-node-n40-d2", "planted-one-node", 40, 2, 0.1, 1, "one-node", None, "squared", ".npz", "easy"),
    ("misspecified-n30-d2", "misspecified", 30, 2, 0.05, 2, "one-node", None, "absolute", ".csv", "easy"),
    ("planted-two-layer-n20-d2", "planted-two-layer", 20, 2, 0.1, 3, "two-layer", 2, "squared", ".csv", "easy"),
    ("xor-n24-d2", "xor", 24, 2, 0.1, 4, "two-layer", 2, "hinge", ".npz", "easy"),
    # trivial: re-solved by the tests in well under a second each
    ("planted-one-node-n10-d1-noise0", "planted-one-node", 10, 1, 0.0, 11, "one-node", None, "squared", ".npz", "trivial"),
    ("planted-one-node-n12-d2-noise0.1", "planted-one-node", 12, 2, 0.1, 12, "one-node", None, "squared", ".npz", "trivial"),
    ("misspecified-n12-d2-abs", "misspecified", 12, 2, 0.1, 13, "one-node", None, "absolute", ".npz", "trivial"),
    # noise levels of the planted one-node family at one size (0.1 is the original above)
    ("planted-one-node-n40-d2-noise0", "planted-one-node", 40, 2, 0.0, 21, "one-node", None, "squared", ".npz", "easy"),
    ("planted-one-node-n40-d2-noise0.3", "planted-one-node", 40, 2, 0.3, 22, "one-node", None, "squared", ".npz", "easy"),
    ("planted-one-node-n40-d2-noise1", "planted-one-node", 40, 2, 1.0, 23, "one-node", None, "squared", ".npz", "easy"),
    # 1-D instances for the fit plots
    ("planted-one-node-n30-d1", "planted-one-node", 30, 1, 0.2, 31, "one-node", None, "squared", ".npz", "easy"),
    ("misspecified-n50-d1", "misspecified", 50, 1, 0.1, 32, "one-node", None, "squared", ".npz", "easy"),
    # growing n: the frontier of one-node squared loss
    ("planted-one-node-n100-d3", "planted-one-node", 100, 3, 0.1, 41, "one-node", None, "squared", ".npz", "medium"),
    ("planted-one-node-n200-d5", "planted-one-node", 200, 5, 0.1, 42, "one-node", None, "squared", ".npz", "medium"),
    ("planted-two-layer-n40-d2", "planted-two-layer", 40, 2, 0.1, 43, "two-layer", 2, "squared", ".npz", "medium"),
    ("planted-one-node-n1000-d10", "planted-one-node", 1000, 10, 0.3, 51, "one-node", None, "squared", ".npz", "frontier"),
    ("planted-two-layer-n100-d3-w3", "planted-two-layer", 100, 3, 0.1, 52, "two-layer", 3, "squared", ".npz", "frontier"),
    ("xor-n100-d2", "xor", 100, 2, 0.1, 53, "two-layer", 2, "hinge", ".npz", "frontier"),
]
# fmt: on

SKLEARN = (
    "scikit-learn's bundled copy (sklearn.datasets), BSD-3-Clause; "
    "read offline with scikit-learn {version}"
)
DIABETES_SOURCE = (
    "Diabetes data of Efron, Hastie, Johnstone and Tibshirani (2004), "
    "'Least Angle Regression', Annals of Statistics 32(2); "
    "https://www4.stat.ncsu.edu/~boos/var.select/diabetes.html"
)
WINE_SOURCE = (
    "Wine data of M. Forina et al., PARVUS (Institute of Pharmaceutical and Food "
    "Analysis and Technologies, Genoa); UCI Machine Learning Repository (CC BY 4.0), "
    "https://archive.ics.uci.edu/dataset/109/wine"
)
# Subsamples for the gradient-descent landscape study (benchmarks/studies/landscape) and
# the two-layer squared benchmarks (the 50-row ones):
# (name, data set, feature columns, target, n, tier); rows drawn without replacement
# with numpy's default_rng(SUBSAMPLE_SEED), then standardised on the rows drawn.
SUBSAMPLE_SEED = 0
# fmt: off
SUBSAMPLES = [
    ("diabetes-n30-d2", "diabetes", ["bmi", "s5"], "progression", 30, "medium"),
    ("diabetes-n100-d2", "diabetes", ["bmi", "s5"], "progression", 100, "frontier"),
    ("diabetes-n30-d3", "diabetes", ["bmi", "bp", "s5"], "progression", 30, "medium"),
    ("diabetes-n100-d3", "diabetes", ["bmi", "bp", "s5"], "progression", 100, "frontier"),
    ("wine-alcohol-n30-d2", "wine", ["proline", "color_intensity"], "alcohol", 30, "medium"),
    ("wine-alcohol-n100-d2", "wine", ["proline", "color_intensity"], "alcohol", 100, "frontier"),
    ("wine-alcohol-n30-d3", "wine", ["proline", "color_intensity", "alcalinity_of_ash"], "alcohol", 30, "medium"),
    ("diabetes-n50-d2", "diabetes", ["bmi", "s5"], "progression", 50, "frontier"),
    ("wine-alcohol-n50-d2", "wine", ["proline", "color_intensity"], "alcohol", 50, "frontier"),
    ("wine-alcohol-n100-d3", "wine", ["proline", "color_intensity", "alcalinity_of_ash"], "alcohol", 100, "frontier"),
]
# fmt: on
BREAST_CANCER_SOURCE = (
    "Breast Cancer Wisconsin (Diagnostic) data of W. N. Street, W. H. Wolberg and "
    "O. L. Mangasarian (1993); UCI Machine Learning Repository (CC BY 4.0), "
    "https://archive.ics.uci.edu/dataset/17/breast+cancer+wisconsin+diagnostic"
)
# One-node hinge loss on real labels (malignant +1, benign -1): rows drawn as the
# subsamples are, four of the ten "mean" measurements (not the collinear radius,
# perimeter and area together), standardised on the rows drawn.
BREAST_CANCER_FEATURES = ["mean radius", "mean texture", "mean smoothness", "mean symmetry"]
BREAST_CANCER_SIZES = (100, 200, 300)
IRIS_SOURCE = (
    "Iris data of R. A. Fisher (1936), 'The use of multiple measurements in "
    "taxonomic problems', Annals of Eugenics 7(2); UCI Machine Learning Repository "
    "(CC BY 4.0)"
)


def _zscore(a: np.ndarray) -> np.ndarray:
    return (a - a.mean(axis=0)) / a.std(axis=0)


def _subsample(total: int, n: int) -> tuple[np.ndarray, str]:
    """``n`` of ``total`` row indices (sorted) drawn as every subsample is, and the
    sentence of the sidecar's ``preprocessing`` that says how."""
    rows = np.sort(np.random.default_rng(SUBSAMPLE_SEED).choice(total, n, replace=False))
    how = (
        f"{n} of {total} rows drawn without replacement with numpy's "
        f"default_rng({SUBSAMPLE_SEED}).choice (row indices in 'rows')"
    )
    return rows, how


def real_instances() -> list[tuple[str, np.ndarray, np.ndarray, list[str], dict[str, Any]]]:
    """The real data sets: (name, X, y, column names, sidecar meta)."""
    import sklearn
    from sklearn.datasets import load_diabetes, load_iris

    licence = SKLEARN.format(version=sklearn.__version__)
    out = []
    diabetes = load_diabetes(scaled=False)
    X, y = _zscore(diabetes.data), _zscore(diabetes.target)
    bmi = list(diabetes.feature_names).index("bmi")
    common = {
        "source": DIABETES_SOURCE,
        "licence": licence,
        "preprocessing": "features and target standardised (z-scores, population std)",
    }
    out.append(
        (
            "diabetes-bmi-n442-d1",
            X[:, [bmi]],
            y,
            ["bmi", "progression"],
            {
                "arch": "one-node",
                "loss": "squared",
                "tier": "medium",
                "family": "real",
                **common,
                "columns": "bmi -> disease progression after one year",
            },
        )
    )
    out.append(
        (
            "diabetes-n442-d10",
            X,
            y,
            [*diabetes.feature_names, "progression"],
            {
                "arch": "one-node",
                "loss": "squared",
                "tier": "frontier",
                "family": "real",
                **common,
                "columns": "10 baseline variables -> disease progression",
            },
        )
    )
    iris = load_iris()
    keep = iris.target > 0  # versicolor (1) against virginica (2): not linearly separable
    Xi = _zscore(iris.data[keep][:, [2, 3]])
    yi = np.where(iris.target[keep] == 2, 1.0, -1.0)
    out.append(
        (
            "iris-versicolor-virginica-n100-d2",
            Xi,
            yi,
            ["petal_length", "petal_width", "label"],
            {
                "arch": "one-node",
                "loss": "hinge",
                "tier": "medium",
                "family": "real",
                "source": IRIS_SOURCE,
                "licence": licence,
                "preprocessing": "versicolor -> -1, virginica -> +1; petal length and width "
                "standardised (z-scores)",
                "columns": "petal length, petal width -> label",
            },
        )
    )
    out.extend(subsample_instances(licence))
    out.extend(breast_cancer_instances(licence))
    return out


def breast_cancer_instances(
    licence: str,
) -> list[tuple[str, np.ndarray, np.ndarray, list[str], dict[str, Any]]]:
    """One-node hinge-loss instances from the breast cancer data, one per size."""
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    names = list(data.feature_names)
    columns = [names.index(f) for f in BREAST_CANCER_FEATURES]
    out = []
    for n in BREAST_CANCER_SIZES:
        rows, drawn = _subsample(len(data.data), n)
        X = _zscore(data.data[rows][:, columns])
        y = np.where(data.target[rows] == 0, 1.0, -1.0)  # target 0 is malignant
        out.append(
            (
                f"breast-cancer-n{n}-d4",
                X,
                y,
                [f.replace(" ", "_") for f in BREAST_CANCER_FEATURES] + ["label"],
                {
                    "arch": "one-node",
                    "loss": "hinge",
                    "tier": "medium",
                    "family": "real",
                    "source": BREAST_CANCER_SOURCE,
                    "licence": licence,
                    "preprocessing": (
                        f"{drawn}; malignant -> +1, benign -> -1; features standardised on "
                        "those rows (z-scores, population std)"
                    ),
                    "columns": f"{', '.join(BREAST_CANCER_FEATURES)} -> label",
                    "rows": [int(r) for r in rows],
                },
            )
        )
    return out


def subsample_instances(
    licence: str,
) -> list[tuple[str, np.ndarray, np.ndarray, list[str], dict[str, Any]]]:
    """The standardised subsamples of diabetes and wine of :data:`SUBSAMPLES`."""
    from sklearn.datasets import load_diabetes, load_wine

    diabetes = load_diabetes(scaled=False)
    wine = load_wine()
    tables = {
        "diabetes": (diabetes.data, list(diabetes.feature_names), diabetes.target, DIABETES_SOURCE),
        "wine": (wine.data, list(wine.feature_names), None, WINE_SOURCE),
    }
    out = []
    for name, dataset, features, target, n, tier in SUBSAMPLES:
        data, names, y_all, source = tables[dataset]
        y_all = data[:, names.index(target)] if y_all is None else y_all
        rows, drawn = _subsample(len(data), n)
        X = _zscore(data[rows][:, [names.index(f) for f in features]])
        y = _zscore(y_all[rows])
        out.append(
            (
                name,
                X,
                y,
                [*features, target],
                {
                    "arch": "two-layer",
                    "width": 2,
                    "loss": "squared",
                    "tier": tier,
                    "family": "real",
                    "source": source,
                    "licence": licence,
                    "preprocessing": (
                        f"{drawn}; features and target standardised on those rows "
                        "(z-scores, population std)"
                    ),
                    "columns": f"{', '.join(features)} -> {target}",
                    "rows": [int(r) for r in rows],
                },
            )
        )
    return out


def _save_csv(path: Path, X: np.ndarray, y: np.ndarray, columns: list[str]) -> None:
    np.savetxt(
        path,
        np.column_stack([X, y]),
        delimiter=",",
        header=",".join(columns),
        comments="",
        fmt="%.17g",
    )


def _reference(
    name: str, problem: Problem, record: dict[str, Any], tier: str, force: bool
) -> dict[str, Any]:
    if not force and "agreed" in record:
        return record
    print(
        name, f"(n={problem.n}, d={problem.d}, {problem.arch}, {problem.loss}, {tier})", flush=True
    )
    for key in ("optimum", "best_known", "bound", "agreed", "solved_by", "status"):
        record.pop(key, None)
    record.update(compute_reference(problem, time_limit=TIME_LIMITS[tier]))
    return record


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", help="instance name (repeatable)")
    parser.add_argument("--force", action="store_true", help="recompute existing references")
    parser.add_argument("--index-only", action="store_true", help="only rewrite index.csv")
    args = parser.parse_args(argv)
    if not args.index_only:
        for name, family, n, d, noise, seed, arch, width, loss, suffix, tier in SYNTHETIC:
            if args.only and name not in args.only:
                continue
            X, y, meta = generate(family, n, d, noise=noise, seed=seed, width=width or 2)
            path = HERE / f"{name}{suffix}"
            if not path.exists():
                save_instance(path, X, y)
            sidecar = path.with_suffix(".json")
            record = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            record.update(arch=arch, loss=loss, B=WEIGHT_BOUND, generator=meta, tier=tier)
            if width:
                record["width"] = width
            problem = Problem(X, y, arch=arch, width=width, loss=loss, weight_bound=WEIGHT_BOUND)
            record = _reference(name, problem, record, tier, args.force)
            sidecar.write_text(json.dumps(record, indent=2) + "\n")
        for name, X, y, columns, meta in real_instances():
            if args.only and name not in args.only:
                continue
            path = HERE / f"{name}.csv"
            if not path.exists():
                _save_csv(path, X, y, columns)
            sidecar = path.with_suffix(".json")
            record = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            record.update(meta, B=WEIGHT_BOUND)
            problem = Problem(
                X,
                y,
                arch=meta["arch"],
                width=meta.get("width"),
                loss=meta["loss"],
                weight_bound=WEIGHT_BOUND,
            )
            record = _reference(name, problem, record, meta["tier"], args.force)
            sidecar.write_text(json.dumps(record, indent=2) + "\n")
    print("wrote", write_index(HERE))


if __name__ == "__main__":
    main()
