"""WSGI entry point: ``gunicorn wsgi:app``."""

import sys

from hub import create_app
from hub.keycheck import KeyMismatch

try:
    app = create_app()
except KeyMismatch as e:  # one line, not a traceback; exit 3 is gunicorn's "worker failed to boot": it stops
    print(f"Error: {e}", file=sys.stderr, flush=True)
    sys.exit(3)
