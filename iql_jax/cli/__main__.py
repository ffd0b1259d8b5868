"""``python -m iql_jax.cli``: the ``iql`` command."""

import sys

from iql_jax.cli import main

sys.exit(main())
