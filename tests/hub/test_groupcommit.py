"""Writes of concurrent requests committed together (hub/groupcommit.py): each caller gets its own
result only after the commit that holds its write; a write that raises fails alone."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import exc, func, insert, select

from hub import groupcommit, writelock
from hub import models as m
from hub.extensions import db
from hub.models.base import utcnow

CLAIMS = m.WebhookClaim.__table__


def _claim(key: str):
    def write(connection):
        connection.execute(insert(CLAIMS).values(provider="p", dedupe_key=key, date_claimed=utcnow()))
        return key
    return write


def _claims() -> set[str]:
    db.session.rollback()
    return set(db.session.scalars(select(CLAIMS.c.dedupe_key)))


def _together(app, group: groupcommit.Group, writes: list, connection_of_leader: bool = False) -> list:
    """Each write from a thread of its own, released at once; what each call returned or raised."""
    outcomes: list = [None] * len(writes)
    start = threading.Barrier(len(writes))

    def call(i: int) -> None:
        with app.app_context():
            start.wait()
            try:
                if connection_of_leader:
                    with db.engine.connect() as own:
                        outcomes[i] = group.write(writes[i], own)
                else:
                    outcomes[i] = group.write(writes[i])
            except Exception as e:  # the test reads it
                outcomes[i] = e

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(writes))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    return outcomes


def test_one_write_alone_is_committed_before_its_result_comes_back(app):
    group = groupcommit.Group()
    assert group.write(_claim("alone")) == "alone"
    assert _claims() == {"alone"}
    assert group.groups == (1 if writelock.taken_in_turn() else 0)


@pytest.mark.parametrize("connection_of_leader", [False, True])
def test_writes_that_arrive_together_share_commits_and_each_gets_its_own_result(app, connection_of_leader):
    group = groupcommit.Group()
    keys = [f"k{i}" for i in range(24)]
    outcomes = _together(app, group, [_claim(k) for k in keys], connection_of_leader)
    assert outcomes == keys
    assert _claims() == set(keys)
    if writelock.taken_in_turn():
        assert 1 <= group.groups < len(keys)  # some of them waited for one another's commit
    else:  # PostgreSQL: each committed alone, at once
        assert group.groups == 0


def test_a_write_that_raises_fails_alone_and_the_rest_of_its_group_is_committed(app):
    group = groupcommit.Group()
    keys = [f"ok{i}" for i in range(12)]
    writes = [_claim(k) for k in keys]
    writes[5] = _claim("ok0")  # the same key twice: a unique constraint fails that one (whoever runs second)
    outcomes = _together(app, group, writes)
    failed = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], exc.IntegrityError)
    assert sorted(o for o in outcomes if isinstance(o, str)) == sorted(set(keys) - {"ok5"})
    assert _claims() == set(keys) - {"ok5"}
    assert db.session.scalar(select(func.count()).select_from(CLAIMS)) == 11


def test_a_write_that_raises_alone_raises_and_writes_nothing(app):
    group = groupcommit.Group()

    def broken(connection):
        connection.execute(insert(CLAIMS).values(provider="p", dedupe_key="half", date_claimed=utcnow()))
        raise RuntimeError("the handler's bug")

    with pytest.raises(RuntimeError, match="the handler's bug"):
        group.write(broken)
    assert _claims() == set()
    assert group.write(_claim("next")) == "next"  # the group is not stuck
    assert _claims() == {"next"}
