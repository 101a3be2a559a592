"""``python -m exactrelu``: the command line of :mod:`exactrelu.cli`."""

import sys

from exactrelu.cli import main

sys.exit(main())
