"""The v2 route table (hub/routes.py): a plugin's declared endpoints matched, 404 and 405 with Allow."""

from __future__ import annotations


def test_routes_answer_404_and_405_with_allow(client, signed):
    r = client.post("/extensions/signed/nowhere/")
    assert r.status_code == 404 and r.json["detail"] == "Not found."
    r = client.get("/extensions/signed/hooks/site-a/")
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and r.json["detail"] == "Method not allowed."
    r = client.delete("/extensions/signed/ping/")
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert client.get("/extensions/signed/ping/").json == {"ok": True}


def test_options_names_the_methods_the_path_declares(client, signed):
    r = client.options("/extensions/signed/hooks/site-a/")
    assert r.status_code == 204 and r.headers["Allow"] == "POST, OPTIONS" and r.get_data() == b""
    r = client.options("/extensions/signed/ping/")
    assert r.status_code == 204 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST", "OPTIONS"}
    assert client.options("/extensions/signed/nowhere/").status_code == 404
    assert client.options("/extensions/no-such-provider/x/").status_code == 404
