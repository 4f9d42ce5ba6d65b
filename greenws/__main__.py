"""``python -m greenws`` is the ``greenws`` command."""

import sys

from greenws.cli.main import main

sys.exit(main())
