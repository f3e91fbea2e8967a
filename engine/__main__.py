"""``python -m engine [redis.conf] [--option value ...]``: run the server."""

import sys

from engine.server.app import main

sys.exit(main())
