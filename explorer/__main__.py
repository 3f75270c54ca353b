"""`python -m explorer` is the `vae-explorer` command."""

import sys

from explorer.cli import main

sys.exit(main())
