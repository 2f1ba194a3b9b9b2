"""Jira Server / Data Center: OAuth 1.0a (RSA-SHA1) signing and the OAuth dance.

Jira Server speaks the same REST API as Cloud, one version older (``/rest/api/2``), with users
named by ``name`` and plain-text descriptions. Those differences live in a small style object
(STYLE §4 item 3); the REST calls themselves are ``plugins.jira``'s. This module adds only what
is Server's own: every request signed with the integration's RSA key, and the three OAuth
endpoints of the guided install.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oauthlib.oauth1 import SIGNATURE_RSA
from requests_oauthlib import OAuth1

from hub import InstallError
from hub.inputs import split_url
from plugins.jira.client import JiraClient, JiraStyle

logger = logging.getLogger("hub.plugins.jira_server")

REQUEST_TOKEN_PATH = "/plugins/servlet/oauth/request-token"
AUTHORIZE_PATH = "/plugins/servlet/oauth/authorize"
ACCESS_TOKEN_PATH = "/plugins/servlet/oauth/access-token"
WEBHOOK_PATH = "/rest/webhooks/1.0/webhook"


# -- keys -----------------------------------------------------------------------------------------


def generate_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair for one Jira application link: ``(private PEM, public PEM)``."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private_pem, public_pem


def check_private_key(pem: Any) -> str:
    """The PEM text of an unencrypted RSA private key, or ``InstallError`` saying what is wrong."""
    if not isinstance(pem, str) or not pem.strip():
        raise InstallError(
            "The private key is missing.", {"private_key": ["Paste the RSA private key (PEM)."]}
        )
    try:
        key = serialization.load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError) as e:
        raise InstallError(
            "The private key is not a valid unencrypted PEM RSA private key.",
            {
                "private_key": [
                    "Not a valid unencrypted PEM RSA private key (-----BEGIN PRIVATE KEY----- ...)."
                ]
            },
        ) from e
    if not isinstance(key, rsa.RSAPrivateKey):
        raise InstallError("The private key must be an RSA key (OAuth 1.0a RSA-SHA1).",
                           {"private_key": ["Not an RSA key."]})
    return pem.strip() + "\n"


def normalize_base_url(value: Any) -> str:
    """``https://jira.example.org/jira`` without a trailing slash; ``InstallError`` when not a URL."""
    url = str(value or "").strip().rstrip("/")
    parts = split_url(url)
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc or parts.query \
            or parts.fragment:
        raise InstallError("The Jira base URL must be an http(s) URL such as https://jira.example.org.",
                           {"base_url": ["Enter the http(s) URL of the Jira server."]})
    return url


# -- signing --------------------------------------------------------------------------------------


def oauth1(metadata: Mapping[str, Any], **extra: Any) -> OAuth1:
    """The RSA-SHA1 signer for an installed integration (or, with ``extra``, for the dance)."""
    return OAuth1(
        client_key=metadata["consumer_key"],
        rsa_key=metadata["private_key"],
        signature_method=SIGNATURE_RSA,
        resource_owner_key=metadata.get("access_token"),
        resource_owner_secret=metadata.get("access_token_secret"),
        **extra,
    )


class JiraServer(JiraStyle):
    """Jira Server / Data Center: REST v2, users by ``name``, plain text, OAuth 1.0a RSA-SHA1."""

    api_root = "/rest/api/2"
    user_id_field = "name"
    user_search_param = "username"
    rich_text = False
    can_lookup_email = False
    cache_prefix = "jira_server"

    def __init__(self, auth: OAuth1) -> None:
        self._auth = auth

    def __repr__(self) -> str:  # never show the key
        return f"JiraServer(consumer_key={self._auth.client.client_key!r})"

    def prepare(self, client: JiraClient, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed: requests.PreparedRequest = self._auth(request)
        for name, value in list(signed.headers.items()):
            if isinstance(value, bytes):  # requests-oauthlib leaves bytes; keep headers text like all others
                signed.headers[name] = value.decode("latin-1")
        return signed


class JiraServerClient(JiraClient):
    integration_name = "jira_server"
    display_name = "Jira Server"

    USER_URL = "{root}/user"

    def changelog_user_email(self, user_id: str) -> str | None:
        """A changelog names a Server user by user key (``JIRAUSER10100``; on an older site the
        key is the user name): its ``emailAddress``, unless the site hides it."""
        data = self.get(self._path(self.USER_URL), params={"key": user_id}) or {}
        return (data.get("emailAddress") or None) if isinstance(data, dict) else None


def client_for(metadata: Mapping[str, Any], auth: OAuth1 | None = None) -> JiraServerClient:
    """The REST client of an installed Jira Server (or, with ``auth``, one step of the dance)."""
    return JiraServerClient(str(metadata["base_url"]), JiraServer(auth or oauth1(metadata)),
                            verify_ssl=bool(metadata.get("verify_ssl", True)))


def server_client(integration: Any) -> JiraServerClient:
    """The REST client of an installed integration (its decrypted metadata)."""
    return client_for(integration.metadata)


# -- the OAuth 1.0a dance (guided install) --------------------------------------------------------


def _token_pair(text: Any, what: str) -> tuple[str, str]:
    values = dict(parse_qsl(text if isinstance(text, str) else "", keep_blank_values=True))
    token, secret = values.get("oauth_token"), values.get("oauth_token_secret")
    if not token or secret is None:
        raise InstallError(f"Jira did not return an OAuth {what} (is the application link set up?).")
    return token, secret


def request_token(base_url: str, consumer_key: str, private_key: str, callback_uri: str,
                  verify_ssl: bool = True) -> tuple[str, str]:
    """Step 1: a temporary token the admin then authorizes in Jira: ``(token, secret)``."""
    meta = {
        "base_url": base_url,
        "consumer_key": consumer_key,
        "private_key": private_key,
        "verify_ssl": verify_ssl,
    }
    client = client_for(meta, oauth1(meta, callback_uri=callback_uri))
    return _token_pair(client.post(REQUEST_TOKEN_PATH, allow_text=True), "request token")


def authorize_url(base_url: str, token: str) -> str:
    """Step 2: where the admin approves the hub's access in Jira."""
    return f"{base_url}{AUTHORIZE_PATH}?{urlencode({'oauth_token': token})}"


def access_token(base_url: str, consumer_key: str, private_key: str, token: str, token_secret: str,
                 verifier: str, verify_ssl: bool = True) -> tuple[str, str]:
    """Step 3: trade the authorized request token for the access token: ``(token, secret)``."""
    meta = {"base_url": base_url, "consumer_key": consumer_key, "private_key": private_key,
            "access_token": token, "access_token_secret": token_secret, "verify_ssl": verify_ssl}
    client = client_for(meta, oauth1(meta, verifier=verifier))
    return _token_pair(client.post(ACCESS_TOKEN_PATH, allow_text=True), "access token")
