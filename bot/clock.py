"""The one place the edges read the wall clock; the core is always handed `now`."""

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC: the core's clock convention."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
