"""`python -m bot` is the `lookalike` command."""

import sys

from cli.main import main

sys.exit(main())
