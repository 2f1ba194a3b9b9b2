"""The baseline of bench/sdk_ingest.py: a bare Flask endpoint that reads the body and answers JSON."""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.post("/api/<project_id>/envelope/")
def envelope(project_id: str):  # type: ignore[no-untyped-def]
    request.get_data()
    return jsonify({"id": project_id})
