"""scikit-learn estimators that train ReLU networks to proven global optimality.

:class:`ExactReLURegressor` (squared or absolute loss) and :class:`ExactReLUClassifier`
(hinge loss, two classes) follow the scikit-learn estimator contract: constructor
parameters stored as given, ``fit`` validates and solves, fitted attributes end in
``_`` (``network_``, ``certificate_``, ``n_features_in_``, ``classes_``). Each ``fit``
builds a :class:`~exactrelu.Problem` and calls :func:`exactrelu.solve`; the certificate
says whether the fit is proven optimal (``certificate_.status == "optimal"``) or was cut
short by ``time_limit``.

Needs scikit-learn (``pip install 'exactrelu[sklearn]'``); importing this module
without it raises :class:`~exactrelu.errors.MissingDependencyError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exactrelu.errors import InvalidInputError, MissingDependencyError
from exactrelu.problem import DEFAULT_WEIGHT_BOUND, Problem

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError as exc:  # the estimators are the scikit-learn feature: no fallback
    raise MissingDependencyError("scikit-learn", "sklearn", "exactrelu.estimators") from exc

__all__ = ["ExactReLUClassifier", "ExactReLURegressor"]

DEFAULT_TIME_LIMIT = 60.0  # seconds per fit: estimators are used in loops (CV, grids)


class _ExactReLU(BaseEstimator):
    """Parameters and the solve shared by both estimators."""

    _loss: str

    def __init__(
        self,
        arch: str = "one-node",
        width: int | None = None,
        weight_bound: float = DEFAULT_WEIGHT_BOUND,
        bias: bool = True,
        method: str = "auto",
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        gap: float = 1e-6,
        threads: int | None = None,
        random_state: int | None = None,
    ) -> None:
        self.arch = arch
        self.width = width
        self.weight_bound = weight_bound
        self.bias = bias
        self.method = method
        self.time_limit = time_limit
        self.gap = gap
        self.threads = threads
        self.random_state = random_state

    def _solve(self, X: np.ndarray, y: np.ndarray, loss: str) -> None:
        from exactrelu.solve import solve

        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            raise InvalidInputError(
                f"random_state must be an int or None, got {type(self.random_state).__name__} "
                "(the solver takes an integer seed)"
            )
        problem = Problem(
            X,
            y,
            arch=self.arch,
            width=self.width,
            loss=loss,
            weight_bound=self.weight_bound,
            bias=self.bias,
        )
        self.certificate_ = solve(
            problem,
            method=self.method,
            time_limit=self.time_limit,
            gap=self.gap,
            threads=self.threads,
            seed=0 if self.random_state is None else int(self.random_state),
        )
        self.network_ = self.certificate_.network

    def _decision(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.network_.predict(X)


class ExactReLURegressor(RegressorMixin, _ExactReLU):
    """A ReLU network regressor trained to proven global optimality.

    Parameters
    ----------
    arch : {"one-node", "two-layer"}, default "one-node"
    width : int, optional
        Hidden units of a two-layer network (default 2).
    loss : {"squared", "absolute"}, default "squared"
        Summed over samples.
    weight_bound : float or "auto", default "auto"
        The box of the hidden weights and biases: a radius ``B`` in the data's units, or
        ``"auto"``, a box in standardised units grown while the optimum touches it
        (docs/data.md).
    bias : bool, default True
        Hidden units have a bias.
    method : {"auto", "mip", "bnb", "enumerate", "approx", "gd"}, default "auto"
        ``mip``, ``bnb`` and ``enumerate`` are exact, ``approx`` and ``gd`` heuristics;
        ``auto`` is ``bnb`` for two-layer squared loss up to width 4, else ``mip``.
    time_limit : float or None, default 60.0
        Seconds per fit; the best network found so far is kept when it runs out.
    gap : float, default 1e-6
        Relative optimality tolerance.
    threads : int, optional
        Solver threads.
    random_state : int, optional
        Seed of the solver and of randomized methods (None means 0: fits are repeatable).

    Attributes
    ----------
    network_ : OneNodeNetwork or TwoLayerNetwork
    certificate_ : Certificate
        Status, loss, proven bound and gap of the fit.
    n_features_in_ : int
    """

    def __init__(
        self,
        arch: str = "one-node",
        width: int | None = None,
        loss: str = "squared",
        weight_bound: float = DEFAULT_WEIGHT_BOUND,
        bias: bool = True,
        method: str = "auto",
        time_limit: float | None = DEFAULT_TIME_LIMIT,
        gap: float = 1e-6,
        threads: int | None = None,
        random_state: int | None = None,
    ) -> None:
        shared = (arch, width, weight_bound, bias, method, time_limit, gap, threads, random_state)
        super().__init__(*shared)
        self.loss = loss

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        # A one-node network outputs max(0, ·) >= 0: on a centred target (as in
        # scikit-learn's check_regressors_train) even its global optimum has R² < 0.5.
        tags.regressor_tags.poor_score = self.arch == "one-node"
        return tags

    def fit(self, X: Any, y: Any) -> ExactReLURegressor:
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        if self.loss not in ("squared", "absolute"):
            raise InvalidInputError(
                f"loss must be squared or absolute for the regressor, got {self.loss!r} "
                "(hinge loss: use ExactReLUClassifier)"
            )
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        self._solve(X, y, self.loss)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Network output, shape (n_samples,)."""
        return self._decision(X)


class ExactReLUClassifier(ClassifierMixin, _ExactReLU):
    """A binary ReLU network classifier trained to proven global optimality (hinge loss).

    The two classes (sorted, ``classes_``) become labels -1 and +1; the network output
    ``f(x)`` is the decision function and ``predict`` returns ``classes_[1]`` where
    ``f(x) > 0``. Multiclass targets are refused.

    Parameters
    ----------
    arch, width, weight_bound, bias, method, time_limit, gap, threads, random_state
        As for :class:`ExactReLURegressor`.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
    network_ : OneNodeNetwork or TwoLayerNetwork
    certificate_ : Certificate
    n_features_in_ : int
    """

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X: Any, y: Any) -> ExactReLUClassifier:
        """Train on ``X`` (n_samples, n_features) and two-class ``y``; returns self."""
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes = unique_labels(y)
        if classes.size != 2:
            # the wording matches scikit-learn's conventions for binary-only classifiers
            raise InvalidInputError(
                "Only binary classification is supported: ExactReLUClassifier needs exactly "
                f"two classes, got {classes.size} class{'es' if classes.size != 1 else ''} "
                f"({[c.item() if hasattr(c, 'item') else c for c in classes[:5]]}); "
                "hinge loss is binary"
            )
        self.classes_ = classes
        self._solve(X, np.where(y == classes[1], 1.0, -1.0), "hinge")
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Network output ``f(x)``, shape (n_samples,); positive means ``classes_[1]``."""
        return self._decision(X)

    def predict(self, X: Any) -> np.ndarray:
        """Predicted classes, shape (n_samples,)."""
        return np.where(self.decision_function(X) > 0.0, self.classes_[1], self.classes_[0])
