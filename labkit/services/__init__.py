"""The simulated services: one package per service, the same furniture in each.

Each ``labkit/services/<name>/`` package has

- ``__init__.py``: its public helpers (what ``lab.<name>`` shows a learner),
  and the lifecycle the registry calls: ``SEAMS``, ``install()``, ``reset()``;
- ``plane.py`` (or a few modules named by concern): the behaviour, as plain
  functions callable in-process;
- ``seams.py``: the moto internals it patches or calls (:class:`labkit.core.seams.Seam`).

A service talks to another only through that service's public functions (SNS
delivers to Lambda through ``labkit.services.lambda_.invoke_async``), and the
import-linter contract in ``pyproject.toml`` forbids cycles between services.

The catalogue below declares every service without importing it; a service
is installed at its first boto3 call or its first ``lab.<name>``.
"""

from __future__ import annotations

from labkit.core.registry import Service, declare

CATALOGUE = (
    declare(Service(
        "lambda_", "labkit.services.lambda_", botocore=("lambda",),
        moto_config={"lambda": {"use_docker": False}},
        summary="functions that really run, for every trigger; event source mappings; zip_code()")),
    declare(Service(
        "sqs", "labkit.services.sqs", botocore=("sqs",),
        summary="standard queues deliver in best-effort order, as on AWS (repeatable: set_seed)")),
    declare(Service(
        "sns", "labkit.services.sns", botocore=("sns",),
        summary="FIFO topic deduplication; deliveries to Lambda and dead-letter queues")),
    declare(Service(
        "eventbridge", "labkit.services.eventbridge", botocore=("events",),
        summary="targets with Input transformers, AWS service events, schedules, replays")),
    declare(Service(
        "stepfunctions", "labkit.services.stepfunctions", botocore=("stepfunctions",),
        moto_config={"stepfunctions": {"execute_state_machine": True}},
        summary="executions that run; history helpers; state machines described from their ASL")),
    declare(Service(
        "dynamodb", "labkit.services.dynamodb", botocore=("dynamodb", "dynamodbstreams"),
        summary="TTL sweeps, a streams client, simulated throttling from provisioned capacity")),
    declare(Service(
        "elasticache", "labkit.services.elasticache", botocore=("elasticache",),
        summary="Redis/Valkey and Memcached servers behind the reported endpoints; failover")),
    declare(Service(
        "rds", "labkit.services.rds", botocore=("rds",),
        summary="SQL (SQLite) behind RDS and Aurora endpoints; replicas, failover, snapshots")),
    declare(Service(
        "route53", "labkit.services.route53", botocore=("route53",),
        summary="a DNS server answering from the hosted zones; routing policies; health checks that probe")),
    declare(Service(
        "ec2", "labkit.services.ec2", botocore=("ec2",),
        summary="instances that serve a web app on their addresses while they run")),
    declare(Service(
        "elb", "labkit.services.elb", botocore=("elbv2",),
        summary="load balancers that route real traffic: ALB rules, NLB TCP, target health checks")),
    declare(Service(
        "apigateway", "labkit.services.apigateway", botocore=("apigateway",), browser_first=True,
        summary="deployed REST API stages served at their invoke URLs: integrations, throttling, keys, authorizers")),
    declare(Service(
        "cloudtrail", "labkit.services.cloudtrail", botocore=("cloudtrail",), every_call=True,
        summary="every call recorded in AWS's record format; LookupEvents; trails that deliver log files to S3")),
    declare(Service(
        "cloudwatch", "labkit.services.cloudwatch", botocore=("cloudwatch", "logs"),
        summary="metrics the services publish; alarms evaluated on the sandbox clock, with actions; metric filters")),
    declare(Service(
        "iam", "labkit.services.iam", botocore=("iam", "sts"),
        summary="calls signed by users and roles, checked by AWS's evaluation logic; trust policies; the simulator")),
    declare(Service(
        "ecs", "labkit.services.ecs", botocore=("ecs",),
        summary="tasks whose images are Python apps; services that keep their count, roll deployments, join target groups")),
    declare(Service(
        "autoscaling", "labkit.services.autoscaling", botocore=("autoscaling",),
        summary="groups that keep their capacity, replace unhealthy instances, scale on alarms; activities")),
)
