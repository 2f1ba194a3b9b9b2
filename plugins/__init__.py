"""Provider plugins shipped with Integration Hub (each registered through the hub.plugins entry points)."""
