"""The command line, a thin shell over the API (see :mod:`exactrelu.cli.main`)."""

from exactrelu.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
