"""`python -m cs336_basics ARGS` is the `cs336` command, e.g. under `torchrun -m cs336_basics train ...`.

(Running `python -m cs336_basics.cli` instead would load cli.py twice, as `__main__` and as
`cs336_basics.cli`, so the UserError the commands raise would not be the one `main` catches.)
"""

import sys

from cs336_basics.cli import main

sys.exit(main())
