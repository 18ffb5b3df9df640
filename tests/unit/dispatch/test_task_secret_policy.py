"""A task role reads its own project-domain's secrets, `slipstream/<project>/<domain>/<group>`, and no other."""

import pytest

from chalicelib.dispatch.task_roles import task_policy
from tests.unit.dispatch.test_task_role_policies import BUCKET, allows

POLICY = task_policy("aws", BUCKET, "ml", "development")
SECRETS = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:"


def test_a_task_reads_its_own_secrets():
    assert allows(POLICY, "secretsmanager:GetSecretValue", SECRETS + "slipstream/ml/development/db-AbCdEf")


@pytest.mark.parametrize("name", ["slipstream/ml/production/db-AbCdEf", "slipstream/ml-x/development/db-AbCdEf",
                                  "slipstream/ml/developmentx/db-AbCdEf", "other/ml/development/db-AbCdEf",
                                  "ml/development/db-AbCdEf"])
def test_no_other_tenants_secret_nor_anything_outside_the_prefix(name):
    assert not allows(POLICY, "secretsmanager:GetSecretValue", SECRETS + name)
    assert not allows(POLICY, "secretsmanager:ListSecrets", "*")
