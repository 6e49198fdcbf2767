"""``python -m cnnviz.train``: the training command line, :mod:`cnnviz.training.cli`, under its documented name."""

import sys

from cnnviz.training.cli import main

if __name__ == "__main__":
    sys.exit(main())
