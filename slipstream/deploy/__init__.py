"""`slipstream deploy`: one CloudFormation stack per stage, holding the whole control plane.

    package.py   chalice package through Chalice's Python API: SAM template, code zip, layer zip (cached)
    template.py  the stage's template from Chalice's SAM, infra/template.json and an overlay (pure)
    policies.py  each function's least-privilege IAM statements (pure)
    aws.py       artifacts bucket, uploads, change sets, waiting, teardown (boto3 clients passed in)

The CLI commands (`slipstream/cli/deploy.py`) chain them; `--dry-run` stops before aws.py.
"""

from slipstream.deploy.template import Artifact, Function, artifacts_bucket, assemble, check_stack_name, stack_name_for

__all__ = ["Artifact", "Function", "artifacts_bucket", "assemble", "check_stack_name", "stack_name_for"]
