"""`python -m cs336_basics ARGS` is the `cs336` command, e.g. under `torchrun -m cs336_basics train ...`."""

import sys

from cs336_basics.training.cli import main

sys.exit(main())
