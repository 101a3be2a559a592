"""Exact training by mixed-integer programming on HiGHS (method ``mip``, the default).

One MILP per output-sign case (one for one-node, ``width + 1`` for two-layer; see
:func:`~exactrelu.formulation.model.build_formulations`). The proven lower bound of
the class is the smallest bound over the cases; the incumbent is the best network
seen anywhere (warm start, every improving MIP solution, polished solutions).

Squared loss goes by outer approximation, because HiGHS has no MIQP and no
lazy-constraint callback: each round solves the MILP with tangent cuts
``t_i >= 2 r̄ (y_i - f_i) - r̄²`` (a valid lower bound, as the tangents underestimate
the square), takes the activation pattern of its solution, solves the convex QP with
that pattern fixed (an upper bound), and adds tangents at both solutions' residuals
(two-layer: and at those of every solution the MILP found below the cutoff whose true
loss is not).
Once a round's MILP picks a pattern whose QP optimum already carries its tangents,
the MILP value equals that QP value (first-order optimality of a convex program), so
the bounds meet; there are finitely many patterns, so the loop ends. Two-layer models
with d >= 3 also carry each square piecewise linearly across ±√(incumbent's loss), so
that a round's relaxations cannot sit in the gaps between scattered tangents, and each
of their rounds starts with tangents at the incumbent.

Levers around the MILPs. One-node squared loss: the activation branch and bound
(:mod:`~exactrelu.methods.bnb`) runs first as a presolve (:mod:`.presolve`). Two-layer
with one feature: the pattern enumeration of method ``enumerate`` runs instead of the
MILPs when it is small enough. Absolute and hinge loss: the MILPs carry convexity cuts
(:mod:`~exactrelu.formulation.interpolation`). Two-layer: a sign case whose output
weights all agree holds only convex (or concave) networks, and is closed at once when
the best convex (concave) fit of the data loses more than the incumbent
(:mod:`~exactrelu.convex.convex_regression`). After a short first visit to each, the
open two-layer cases are solved side by side in threads (:mod:`.schedule`). A better
network found while a MILP runs reaches it at once: as a HiGHS user solution when it has
that case's output signs, else by restarting a young round with the new cutoff; and a
two-layer solve still running after half a minute pauses once for a longer heuristic
start (:mod:`~exactrelu.methods.heuristics`), which on hard instances finds better
networks than the MILPs do for a long time.

Ctrl-C, SIGTERM and the time limit interrupt HiGHS through its callbacks (its primal
heuristics are off: their sub-MIPs never call back, so a stop could wait half a minute);
the best network and the bound proven so far come back in the certificate with status
``interrupted`` or ``time_limit``. Nothing is lost, and no traceback is shown.

The package: :mod:`.settings` (the tuning, :class:`MipSettings`), :mod:`.state` (the
shared incumbent and case bounds), :mod:`.case` (one sign case's MILP in HiGHS),
:mod:`.presolve`, :mod:`.schedule` (rounds, cases side by side) and :mod:`.solve`
(:func:`solve_mip`, the steps in order). docs/mip.md is the user guide.
"""

from exactrelu.methods.mip.settings import MipSettings
from exactrelu.methods.mip.solve import solve_mip

__all__ = ["MipSettings", "solve_mip"]
