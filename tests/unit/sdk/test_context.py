"""current_context() and secrets as flytekit has them: `ctx.secrets.get(group, key)` reads the variable or the
file the pod entrypoint delivered (tests/e2e/test_flytekit_idioms_remote.py fetches them from Secrets Manager);
outside a pod the execution is `local`. Secret names are checked where they are written."""

import pytest

from chalicelib.dispatch.pods import secret_env_name as pod_env_name
from chalicelib.errors import ValidationError
from slipstream import Secret, current_context, task
from slipstream.context import SecretNotFoundError, _entry, secret_env_name


@task(secret_requests=[Secret(group="db", key="password", mount_requirement=Secret.MountType.FILE)])
def connect() -> str:
    ctx = current_context()
    return f"{ctx.execution_id.name}:{ctx.secrets.get('db', 'password')}"


def test_a_task_reads_its_secret_from_the_variable_or_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("SLIPSTREAM_SECRET_DB_PASSWORD", "from-env")
    assert connect() == "local:from-env"
    monkeypatch.delenv("SLIPSTREAM_SECRET_DB_PASSWORD")
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "password").write_text("from-file")
    monkeypatch.setenv("SLIPSTREAM_SECRETS_DIR", str(tmp_path))
    assert connect() == "local:from-file"


def test_a_missing_secret_names_the_variable_the_file_and_the_fix(monkeypatch):
    monkeypatch.delenv("SLIPSTREAM_SECRETS_DIR", raising=False)
    with pytest.raises(SecretNotFoundError, match=r"secret \[db/password\] is not in environment variable "
                                                  r"\[SLIPSTREAM_SECRET_DB_PASSWORD\].*slipstream/<project>/<domain>/db"):
        current_context().secrets.get("db", "password")


def test_stored_secrets_are_a_string_or_a_json_object_of_keys():
    assert _entry('{"password": "p", "user": "u"}', "slipstream/p/d/db", "password") == "p"
    assert _entry("plain", "slipstream/p/d/token", None) == "plain"
    assert _entry("plain", "slipstream/p/d/token", "token") == "plain"
    with pytest.raises(SecretNotFoundError, match=r"has no key \[pw\]; its keys are \['password'\]"):
        _entry('{"password": "p"}', "slipstream/p/d/db", "pw")


def test_secret_names_stay_inside_their_project_and_agree_with_the_pod():
    with pytest.raises(ValidationError, match=r"secret group \[\.\./other\] must be"):
        Secret(group="../other")
    with pytest.raises(ValidationError, match=r"secret key \[a/b\] must be"):
        Secret(group="db", key="a/b")
    for group, key in (("db", "password"), ("wandb", None), ("my.team-x", "api_key")):
        assert secret_env_name(group, key) == pod_env_name(group, key)
