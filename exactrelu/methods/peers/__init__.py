"""Peer solvers (optional extras): independent oracles for tests and baselines for benchmarks.

* :mod:`.big_m`: the plain big-M model of one output-sign case, described once as data
  (columns, rows, objective), apart from any solver;
* :mod:`.driver`: solves the sign cases one after the other under one time limit and
  combines them into one certificate (smallest case bound, best network, the best loss
  so far as the cutoff of later cases where the solver takes one);
* :mod:`.scip`, :mod:`.gurobi`, :mod:`.highs_naive`: thin adapters that write a model
  into their solver and say what it proved (``solve_scip``, ``solve_gurobi``,
  ``solve_highs_naive``).
"""
