"""The HiGHS backend: models as matrices, quiet instances, Pyomo models compiled to HiGHS.

exactrelu drives highspy directly: the methods need warm starts, MIP callbacks and rows
added between solves, which no Pyomo solver plugin exposes together.
"""

from exactrelu.highs.matrix import INF, SparseRows, add_rows, pass_model
from exactrelu.highs.quiet import quiet_highs

__all__ = ["INF", "SparseRows", "add_rows", "pass_model", "quiet_highs"]
