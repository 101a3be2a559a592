"""Benchmark library and harness: suites, resumable sweeps, peers, plots.

* :mod:`exactrelu.bench.suite`: suite files (instances × methods × settings);
* :mod:`exactrelu.bench.runner`: ``exactrelu bench``: resumable sweeps, reference checks,
  local worker processes or a Dask cluster;
* :mod:`exactrelu.bench.executors`: SCIP, Gurobi and naive HiGHS next to exactrelu's methods;
* :mod:`exactrelu.bench.library`: the instance library's index and reference optima;
* :mod:`exactrelu.bench.landscape_study`: landscapes of gradient descent over a grid of
  instances and widths, on the same results store and executors;
* :mod:`exactrelu.bench.plots`: ``exactrelu plot`` (matplotlib, optional);
* :mod:`exactrelu.generate`: ``exactrelu generate``.
"""
