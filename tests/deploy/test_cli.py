"""The deploy commands' own behaviour: the CLI config they write, and the mistakes they refuse in one line."""

from __future__ import annotations

import json

from slipstream.cli.deploy import _write_client_config
from slipstream.config import load_config
from tests.deploy.conftest import run_cli


def test_deploy_points_the_cli_at_the_stage_and_keeps_project_and_domain(tmp_path, monkeypatch):
    monkeypatch.setenv("SLIPSTREAM_HOME", str(tmp_path))
    (tmp_path / "config.json").write_text(json.dumps({"project": "flights", "domain": "staging",
                                                      "api_url": "http://127.0.0.1:1"}))
    path = _write_client_config("https://abc.execute-api.eu-west-1.amazonaws.com/api/", "eu-west-1")
    assert json.loads(path.read_text()) == {"project": "flights", "domain": "staging", "auth": "sigv4",
                                            "api_url": "https://abc.execute-api.eu-west-1.amazonaws.com/api",
                                            "region": "eu-west-1"}
    config = load_config()
    assert (config.api_url, config.auth, config.region, config.project) == (
        "https://abc.execute-api.eu-west-1.amazonaws.com/api", "sigv4", "eu-west-1", "flights")


def test_a_dry_run_needs_somewhere_to_write(tmp_path):
    done = run_cli(tmp_path, "deploy", "--stage", "dev", "--region", "us-east-1", "--dry-run")
    assert done.returncode == 2
    assert done.stderr.strip() == ("Error: --dry-run writes what it would deploy: name a directory with "
                                   "--output DIR")


def test_a_stage_that_cannot_name_buckets_is_refused(tmp_path):
    done = run_cli(tmp_path, "deploy", "--stage", "Dev_1", "--region", "us-east-1", "--dry-run", "--output",
                   str(tmp_path / "out"))
    assert done.returncode == 2
    assert "stack name [slipstream-Dev_1] must be lowercase letters, digits and single hyphens" in done.stderr
    assert not (tmp_path / "out").exists()


def test_without_a_region_deploy_says_where_to_give_one(tmp_path):
    done = run_cli(tmp_path, "deploy", "--stage", "dev", "--dry-run", "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "no AWS region: pass --region" in done.stderr
