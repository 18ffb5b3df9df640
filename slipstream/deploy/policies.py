"""Least-privilege IAM for the control plane's functions, scoped to the stack's own resources.

Each function gets a role of its own, allowed what its code calls and no more:

    API (APIHandler)            tables, data bucket, create/start/stop/describe state machines and executions
                                named `<stack>-*`, pass the states role, EKS (namespaces, terminate deletes pods),
                                the task roles of project-domains (below)
    every phase writer          put phase change events on the stack's bus `<stack>-events` and no other (API,
                                dispatcher, status handler, schedule handler: chalicelib.events)
    dispatcher (Dispatch)       tables, data bucket, consume the dispatch queue, answer task tokens, start
                                child executions (dynamic workflows, split graphs), EKS (creates pods)
    status handler              tables, data bucket, answer a parent's token when a child ends, publish
                                notifications to the events topic and to topics named `<stack>-*`
    reconciler (ReconcilePods)  fail and heartbeat task tokens, write why an attempt died (error.json in the
                                data bucket), EKS (lists and deletes pods)
    schedule handler            tables, data bucket, create/start state machines (it creates executions as the
                                API does); the API also creates, updates and deletes the EventBridge Scheduler
                                schedules `<stack>-*` in the default group and passes the scheduler role, which
                                may only invoke the schedule handler

Two AWS limits shape the statements: `states:SendTask*` authorise by task token and support no resource-level
permissions (the Service Authorization Reference lists no resource type for them), so they name "*"; and
CloudWatch Logs checks stream writes against the log-group ARN, so each role may write to its own function's
log group only (the stack creates those groups, so no role needs `logs:CreateLogGroup`).

Task pods get one role per project-domain, made by the API when a project is created
(`chalicelib.dispatch.task_roles` says why). What the API may grant is capped: it may create roles, and
write their policies and boundaries, only under the stack's path `/<stack>/tasks/` and only when the
request names the stack's `TaskBoundary` (condition key `iam:PermissionsBoundary`); every such role is
then limited to the data bucket and task tokens whatever its own policy says. The boundary is retained
when the stack is deleted: the roles the API made outlive the stack (CloudFormation does not know them)
and IAM refuses to delete a policy that still bounds a role.
"""

from __future__ import annotations

from typing import Any

TABLE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                 "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
                 "dynamodb:ConditionCheckItem", "dynamodb:DescribeTable"]
STATE_MACHINE_ACTIONS = ["states:CreateStateMachine", "states:DescribeStateMachine", "states:StartExecution"]
EXECUTION_ACTIONS = ["states:DescribeExecution", "states:StopExecution"]
TOKEN_ACTIONS = ["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"]
QUEUE_CONSUMER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
                          "sqs:ChangeMessageVisibility"]
SCHEDULE_ACTIONS = ["scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
                    "scheduler:GetSchedule"]
SCHEDULER_ROLE = "SchedulerRole"
HAS_CLUSTER = "HasCluster"  # the condition: the stage names an EKS cluster
HAS_TASK_IDENTITY = "HasTaskIdentity"  # the condition: the stage names the cluster's OIDC provider (IRSA)
TASK_BOUNDARY = "TaskBoundary"
BOUNDED_TASK_ROLE_ACTIONS = ["iam:CreateRole", "iam:PutRolePolicy", "iam:PutRolePermissionsBoundary"]
TASK_ROLE_ACTIONS = ["iam:GetRole", "iam:GetRolePolicy", "iam:UpdateAssumeRolePolicy", "iam:TagRole"]


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def stack_arn(service: str, resource: str) -> dict[str, str]:
    """An ARN in the stack's own partition, region and account."""
    return sub(f"arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


def _statement(sid: str, actions: list[str], resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def tables(table_ids: list[str]) -> dict[str, Any]:
    resources: list[Any] = []
    for table in table_ids:
        resources += [{"Fn::GetAtt": [table, "Arn"]}, sub(f"${{{table}.Arn}}/index/*")]
    return _statement("Tables", TABLE_ACTIONS, resources)


def data_bucket() -> list[dict[str, Any]]:
    """Objects read and written (copy_object needs both), and ListBucket so a missing key is a 404, not 403."""
    return [_statement("Data", ["s3:GetObject", "s3:PutObject"], sub("${DataBucket.Arn}/*")),
            _statement("DataListing", ["s3:ListBucket"], {"Fn::GetAtt": ["DataBucket", "Arn"]})]


def state_machines(sid: str) -> list[dict[str, Any]]:
    """Create and start the stack's own state machines (`<stack>-<hash>`) and stop or read their executions;
    creating one passes the states role, and only to Step Functions."""
    return [
        _statement(sid, STATE_MACHINE_ACTIONS, stack_arn("states", "stateMachine:${AWS::StackName}_*")),
        _statement(f"{sid}Executions", EXECUTION_ACTIONS, stack_arn("states", "execution:${AWS::StackName}_*:*")),
        _statement("PassStatesRole", ["iam:PassRole"], {"Fn::GetAtt": ["StatesRole", "Arn"]},
                   Condition={"StringEquals": {"iam:PassedToService": "states.amazonaws.com"}}),
    ]


def task_tokens() -> dict[str, Any]:
    return _statement("TaskTokens", TOKEN_ACTIONS, "*")


def cluster() -> dict[str, Any]:
    """Read the cluster's endpoint and CA (the function finds its cluster by name); present only when the stage
    names a cluster. What the function may do inside it is Kubernetes RBAC's business (its access entry)."""
    return {"Fn::If": [HAS_CLUSTER,
                       _statement("Cluster", ["eks:DescribeCluster"], stack_arn("eks", "cluster/${EksClusterName}")),
                       {"Ref": "AWS::NoValue"}]}


def task_roles() -> list[dict[str, Any]]:
    """Make and keep up the task roles of project-domains: only under the stack's path, only bounded."""
    roles = sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${AWS::StackName}/tasks/*")
    bounded = {"StringEquals": {"iam:PermissionsBoundary": {"Ref": TASK_BOUNDARY}}}
    return [{"Fn::If": [HAS_TASK_IDENTITY, statement, {"Ref": "AWS::NoValue"}]} for statement in (
        _statement("TaskRolesBounded", BOUNDED_TASK_ROLE_ACTIONS, roles, Condition=bounded),
        _statement("TaskRoles", TASK_ROLE_ACTIONS, roles))]


def task_boundary() -> dict[str, Any]:
    """The permissions boundary of every task role: at most the data bucket's objects and task tokens."""
    document = {"Version": "2012-10-17", "Statement": [
        _statement("DataObjects", ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
                   sub("${DataBucket.Arn}/*")),
        _statement("DataListing", ["s3:ListBucket"], {"Fn::GetAtt": ["DataBucket", "Arn"]}),
        _statement("AnswerTaskTokens", TOKEN_ACTIONS, "*"),
        _statement("TaskSecrets", ["secretsmanager:GetSecretValue"],  # each role: its own project-domain's
                   "arn:*:secretsmanager:*:*:secret:slipstream/*"),
    ]}
    return {
        "Type": "AWS::IAM::ManagedPolicy",
        "Condition": HAS_TASK_IDENTITY,
        "DeletionPolicy": "Retain",  # it still bounds the roles the API made (see the module docstring)
        "UpdateReplacePolicy": "Retain",
        "Properties": {"Description": sub("The most any task role of slipstream stack ${AWS::StackName} may do"),
                       "Path": sub("/${AWS::StackName}/"), "PolicyDocument": document},
    }


def schedules() -> list[dict[str, Any]]:
    """Manage the stack's own launch plan schedules, handing them the scheduler role and nothing else."""
    return [_statement("Schedules", SCHEDULE_ACTIONS, stack_arn("scheduler", "schedule/default/${AWS::StackName}-*")),
            _statement("PassSchedulerRole", ["iam:PassRole"], {"Fn::GetAtt": [SCHEDULER_ROLE, "Arn"]},
                       Condition={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}})]


def scheduler_role() -> dict[str, Any]:
    """The role EventBridge Scheduler assumes to invoke the schedule handler, for this account's schedules only."""
    handler = stack_arn("lambda", "function:${AWS::StackName}-schedules")
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]},
            "Policies": [{"PolicyName": "invoke-schedule-handler", "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [_statement("InvokeScheduleHandler", ["lambda:InvokeFunction"], handler)]}}],
        },
    }


def phase_events() -> dict[str, Any]:
    return _statement("PhaseEvents", ["events:PutEvents"], {"Fn::GetAtt": ["EventBus", "Arn"]})


def logs(log_group: str) -> dict[str, Any]:
    return _statement("Logs", ["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": [log_group, "Arn"]})


def function_statements(kind: str, table_ids: list[str], log_group: str) -> list[dict[str, Any]]:
    """The statements of one function's role; `kind` is api, dispatch, status, reconcile or schedules."""
    if kind == "api":
        body = [tables(table_ids), *data_bucket(), *state_machines("StateMachines"), cluster(), *task_roles(),
                *schedules(), phase_events()]
    elif kind == "dispatch":
        body = [tables(table_ids), *data_bucket(), task_tokens(), *state_machines("ChildExecutions"),
                _statement("DispatchQueue", QUEUE_CONSUMER_ACTIONS, {"Fn::GetAtt": ["DispatchQueue", "Arn"]}),
                cluster(), phase_events()]
    elif kind == "status":
        body = [tables(table_ids), *data_bucket(), task_tokens(),
                _statement("Notifications", ["sns:Publish"],
                           [{"Ref": "EventsTopic"}, stack_arn("sns", "${AWS::StackName}-*")]), phase_events()]
    elif kind == "schedules":
        body = [tables(table_ids), *data_bucket(), *state_machines("StateMachines"), phase_events()]
    elif kind == "reconcile":
        body = [_statement("TaskTokens", ["states:SendTaskFailure", "states:SendTaskHeartbeat"], "*"),
                _statement("AttemptErrors", ["s3:PutObject"], sub("${DataBucket.Arn}/*")), cluster()]
    else:
        raise ValueError(f"no policy for function kind [{kind}]; add it to slipstream.deploy.policies")
    return [*body, logs(log_group)]


def lambda_role(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                               "Action": "sts:AssumeRole"}],
            },
            "Policies": [{"PolicyName": "function",
                          "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}],
        },
    }
