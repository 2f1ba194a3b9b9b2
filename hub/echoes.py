"""Echo guard per ticket and field: what the hub sent a ticket comes back as a webhook.

When the hub queues an outbound status or assignee change for a ticket it notes the value on
the ticket's row (in the same transaction). An inbound change carrying a noted value is that
echo: it and every older note are consumed and the change does nothing. So hub close → hub
reopen → the provider's late "closed" ends reopened, as the user last set it. A change made at the
provider (one no note matches) voids the field's notes (:func:`settle`): an echo still on its way is
older than that change and goes stale, and one that is newer is the ticket's state, to be applied.
A job that ends without sending (skipped, failed, dead) withdraws its note (:func:`withdraw`): no
echo is coming. Notes also expire (``TTL``), so a change that never echoes cannot hide a real one for long.
"""

from __future__ import annotations

import time

from hub import models as m

TTL = 3600.0
KEEP = 20


def expect(ext: m.ExternalIssue, field: str, value: str) -> None:
    """Note that ``value`` (``"resolved"`` / ``"unresolved"``; an email or ``""`` for the
    assignee) was sent to the ticket."""
    now = time.time()
    notes = dict(ext.expected_echoes or {})
    kept = [n for n in notes.get(field, []) if now - float(n[1]) < TTL][-(KEEP - 1):]
    notes[field] = [*kept, [value.lower(), now]]
    ext.expected_echoes = notes


def consume(ext: m.ExternalIssue, field: str, value: str) -> bool:
    """``True`` when ``value`` is a pending echo of the hub's own change (then it is used up)."""
    notes = dict(ext.expected_echoes or {})
    pending = notes.get(field) or []
    now = time.time()
    wanted = value.lower()
    for index, (noted, at) in enumerate(pending):
        if noted == wanted and now - float(at) < TTL:
            notes[field] = pending[index + 1:]
            ext.expected_echoes = notes
            return True
    return False


def settle(ext: m.ExternalIssue, field: str) -> None:
    """A change of ``field`` made at the provider was applied: the hub's notes of it are void (an echo
    that never came must not swallow the provider's next change to the noted value)."""
    notes = dict(ext.expected_echoes or {})
    if notes.get(field):
        notes[field] = []
        ext.expected_echoes = notes


def withdraw(ext: m.ExternalIssue, field: str, value: str) -> None:
    """The newest note of ``value`` is void: the job that was to send it ended without sending."""
    notes = dict(ext.expected_echoes or {})
    pending = list(notes.get(field) or [])
    wanted = value.lower()
    for index in range(len(pending) - 1, -1, -1):
        if pending[index][0] == wanted:
            del pending[index]
            notes[field] = pending
            ext.expected_echoes = notes
            return
