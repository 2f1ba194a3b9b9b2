"""The REST API under ``/api/0/``: JSON in and out, bearer tokens, strict org isolation.

``core`` holds the blueprint and what every endpoint shares; each resource module adds its routes
to it when imported, which this package does once, here.
"""

from hub.api import deliveries, events, integrations, issues, keys, orgs, rules  # noqa: F401  (each registers its routes on bp)
from hub.api.core import ApiAbort, bp

__all__ = ["ApiAbort", "bp"]
