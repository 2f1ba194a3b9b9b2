"""Configuration (hub/config.py): the environment, generated keys shared by processes starting together,
a malformed key refused, ``HUB_PLUGINS`` naming modules.
"""

from __future__ import annotations

import multiprocessing
import os

import pytest

from hub import config as hub_config


def _resolve_in(folder: str) -> tuple[str, str]:
    out = hub_config.resolve({**hub_config.DEFAULTS}, folder)
    return out["HUB_SECRET_KEY"], out["HUB_ENCRYPTION_KEY"]


def test_a_process_that_loses_the_key_race_reads_the_winners_key(tmp_path, monkeypatch):
    real_link = os.link

    def another_process_wins(src, dst):
        (tmp_path / os.path.basename(dst)).write_text("theirs\n")
        return real_link(src, dst)

    monkeypatch.setattr(hub_config.os, "link", another_process_wins)
    assert hub_config._persisted_key(str(tmp_path), "secret_key", lambda: "ours") == "theirs"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret_key"]  # no temporary file left


def test_processes_starting_together_share_one_complete_pair_of_keys(tmp_path):
    """gunicorn -w 4 and workers on a fresh instance folder: never an empty key, never two keys."""
    folders = [str(tmp_path / f"instance-{i}") for i in range(6)]
    with multiprocessing.get_context("spawn").Pool(12) as pool:
        results = pool.map(_resolve_in, [f for f in folders for _ in range(12)])
    for i, folder in enumerate(folders):
        keys = set(results[i * 12:(i + 1) * 12])
        assert len(keys) == 1 and all(all(pair) for pair in keys), folder
        assert (os.stat(os.path.join(folder, "encryption_key")).st_mode & 0o777) == 0o600


def test_a_malformed_encryption_key_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="HUB_ENCRYPTION_KEY is not a Fernet key"):
        hub_config.resolve({**hub_config.DEFAULTS, "HUB_ENCRYPTION_KEY": "..."}, str(tmp_path))


def test_hub_plugins_from_the_environment_names_modules(tmp_path):
    from hub.plugins import build_plugin_manager

    settings = hub_config.from_environ({"HUB_PLUGINS": "hub_tracker, hub.inbound_hooks"})
    assert settings["HUB_PLUGINS"] == ("hub_tracker", "hub.inbound_hooks")
    plugins = build_plugin_manager(
        {
            **hub_config.DEFAULTS,
            "HUB_LOAD_ENTRYPOINTS": False,
            "HUB_PLUGINS": hub_config.from_environ({"HUB_PLUGINS": "hub_tracker"})["HUB_PLUGINS"],
        }
    )
    assert "tracker" in {r.provider["key"] for r in plugins.records.values() if r.provider}
