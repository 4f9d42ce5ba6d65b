"""``python -m greenws`` is the ``greenws`` command."""

import sys

from greenws.cli import main

sys.exit(main())
