"""ReLU networks of the two classes exactrelu trains, and their losses.

:mod:`~exactrelu.network.networks` defines the networks, :mod:`~exactrelu.network.losses`
the per-sample losses, :mod:`~exactrelu.network.importers` reads trained networks from
files and other libraries, :mod:`~exactrelu.network.exporters` writes them out.
"""

from exactrelu.network.losses import per_sample_loss, total_loss
from exactrelu.network.networks import (
    Network,
    OneNodeNetwork,
    TwoLayerNetwork,
    check_in_class,
    network_from_dict,
    zero_network,
)

__all__ = [
    "Network",
    "OneNodeNetwork",
    "TwoLayerNetwork",
    "check_in_class",
    "network_from_dict",
    "per_sample_loss",
    "total_loss",
    "zero_network",
]
