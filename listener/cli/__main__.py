"""`python -m listener.cli`: the same as the `listener` command."""

import sys

from listener.cli import main

sys.exit(main())
