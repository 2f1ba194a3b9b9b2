"""Tracker's HTTP API on the hub's client base."""

from __future__ import annotations

from typing import Any

import requests

from hub.http import BaseApiClient


class TrackerClient(BaseApiClient):
    integration_name = "tracker"

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url)
        self.token = token

    def prepare(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Token {self.token}"
        return request

    def get_issue(self, key: str) -> dict[str, Any]:
        return self.get(self.path("/issues/{}", key))  # type: ignore[no-any-return]

    def set_state(self, key: str, state: str) -> None:
        self.put(self.path("/issues/{}/state", key), json={"state": state})

    def set_assignee(self, key: str, email: str | None) -> None:
        self.put(self.path("/issues/{}/assignee", key), json={"email": email})

    def create_issue(self, queue: str, title: str, link: str) -> dict[str, Any]:
        return self.post("/issues", json={"queue": queue, "title": title, "link": link})  # type: ignore[no-any-return]

    def post_message(self, channel: str, text: str, thread: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"channel": channel, "text": text}
        if thread:
            body["thread"] = thread
        return self.post("/messages", json=body)  # type: ignore[no-any-return]
