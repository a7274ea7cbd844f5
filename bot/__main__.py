"""`python -m bot` is the `lookalike` command."""

import sys

from bot.cli import main

sys.exit(main())
