"""Training methods other than the MIP: exact enumeration, approximation, gradient descent.

Each method has the signature ``(problem, options, **method_options) -> Certificate``
and is registered in :data:`ALGORITHMS` under the name ``exactrelu.solve`` accepts:

* ``enumerate`` (:func:`~exactrelu.algorithms.enumerate.solve_enumerate`): exact,
  polynomial in ``n`` for fixed ``d`` (one-node); Arora et al. for two-layer (small ``n``).
* ``approx`` (:func:`~exactrelu.algorithms.approx.solve_approx`): one-node, proven ratio
  ``n/k`` with ``O(n^k)`` convex programs, exact when the data are realizable.
* ``gd`` (:func:`~exactrelu.algorithms.gd.solve_gd`): projected (sub)gradient descent
  with seeded restarts, optionally started from ``approx``.

See docs/algorithms.md for how they work and what they guarantee.
"""

from exactrelu.algorithms.approx import solve_approx
from exactrelu.algorithms.branch_and_bound import solve_branch_and_bound
from exactrelu.algorithms.enumerate import solve_enumerate
from exactrelu.algorithms.gd import solve_gd

ALGORITHMS = {
    "bnb": solve_branch_and_bound,
    "enumerate": solve_enumerate,
    "approx": solve_approx,
    "gd": solve_gd,
}

__all__ = [
    "ALGORITHMS",
    "solve_approx",
    "solve_branch_and_bound",
    "solve_enumerate",
    "solve_gd",
]
