def test_event_issue_resolve(client, factories, run_jobs):
    s = factories.setup()
    r = client.post("/api/0/projects/acme/backend/events/", json={"message": "boom", "culprit": "app.views"},
                    headers=s["headers"])
    assert r.status_code == 201, r.json
    gid = r.json["groupId"]
    r = client.put(f"/api/0/organizations/acme/issues/{gid}/", json={"status": "resolved"}, headers=s["headers"])
    assert r.status_code == 200, r.json
    assert r.json["status"] == "resolved"
    r = client.get(f"/api/0/organizations/acme/issues/{gid}/activities/", headers=s["headers"])
    assert [a["type"] for a in r.json] == ["set_resolved", "first_seen"]
