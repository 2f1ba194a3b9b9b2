"""The install JWT's ``kid`` names a key on Atlassian's CDN: it can only ever be one path segment."""

from __future__ import annotations

import pytest

from hub import services
from tests.plugins.jira.conftest import CLIENT_KEY, KID, lifecycle


@pytest.mark.parametrize("kid", [f"{KID}?x=1", f"{KID}#x", "%2e%2e%2fother", "..\\other", "a@evil.example",
                                 "x" * 200, ""])
def test_a_kid_that_is_not_a_plain_key_id_is_400_without_a_fetch(client, rsa_key, install_keys, requests_mock,
                                                                   kid):
    r = lifecycle(client, rsa_key, "installed", kid=kid)
    assert r.status_code == 400
    assert requests_mock.request_history == []
    assert services.get_integration("jira", CLIENT_KEY) is None
