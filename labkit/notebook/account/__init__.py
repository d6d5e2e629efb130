"""The account drawn from its real state (``lab.diagram()``, ``lab.account``).

:func:`survey` asks every service what it holds, with the same describe and
list calls you would make (paginated, in one region), and returns an
:class:`Account`: its resources as nodes, what connects them as edges.

- the front door: Route 53 zones, records (to the load balancer, API or
  address they point at) and health checks; load balancers, their listeners
  and rules, target groups and targets; REST APIs, routes and integrations;
- compute: EC2 instances and Auto Scaling groups (a group's instances drawn as
  one node with a count), ECS clusters, services and tasks, Lambda functions
  and their triggers (event source mappings, the principals allowed to invoke);
- data: ElastiCache replication groups and clusters, RDS instances and Aurora
  clusters, DynamoDB tables (and streams to Lambda), S3 buckets;
- operate and secure: CloudWatch alarms (the resource their metric belongs to,
  the topic or scaling policy they act on), log groups, CloudTrail trails and
  their buckets, the IAM roles that functions, tasks, instances and state
  machines run as;
- event coordination: SQS queues and their dead-letter queues, SNS topics and
  subscriptions, EventBridge buses, rules and targets, Step Functions state
  machines and the functions and services their tasks call.

:func:`draw` draws it in the house style (:mod:`labkit.notebook.diagrams`),
one cluster per part of the book, with alt text written from the same graph:
every resource named, every edge a sentence. It also compares what it drew
with what CloudTrail's records say this sandbox created and did not delete,
and names anything it missed (:attr:`Account.undrawn`).

A large account stays readable: an Auto Scaling group or an ECS service is
one node that counts its instances or tasks (and names them in the alt text),
more than three instances with one name or more than three log groups become
one node with a count, many unconnected resources of one kind one node that
lists them, and a role is written under what runs as it rather than drawn
as an arrow across the picture. Above a dozen nodes the drawing runs top to
bottom, the parts side by side.

A service the sandbox never used is not asked; a service whose describe call
fails becomes a note under the drawing instead of an error, and a resource
deleted between its list call and its describe call is left out.

What is not drawn: what only the code knows (an app that reads a cache or
writes a table: no describe call says so), HTTP APIs beyond their routes'
integrations, and services labkit does not emulate.
"""

from __future__ import annotations

from collections.abc import Iterable

from labkit.core import aws

from . import compute, data, events, front, operate, trail
from .figure import METADATA_KEY, AccountFigure, draw_account
from .model import PARTS, Account, Node
from .reading import Reader, Survey, error_text, used

__all__ = ["METADATA_KEY", "PARTS", "Account", "AccountFigure", "Node", "READERS", "draw", "install", "reset",
           "survey"]

#: (what the note calls it, botocore service, reader), in the order they run
#: (Auto Scaling before EC2 so a group's instances join it; Lambda before logs).
READERS: tuple[tuple[str, str, Reader], ...] = (
    ("IAM", "iam", operate.iam),
    ("Route 53", "route53", front.route53),
    ("Elastic Load Balancing", "elbv2", front.elbv2),
    ("API Gateway", "apigateway", front.apigateway),
    ("API Gateway (HTTP APIs)", "apigatewayv2", front.apigatewayv2),
    ("EC2 Auto Scaling", "autoscaling", compute.autoscaling),
    ("EC2", "ec2", compute.ec2),
    ("ECS", "ecs", compute.ecs),
    ("Lambda", "lambda", compute.lambda_),
    ("ElastiCache", "elasticache", data.elasticache),
    ("RDS", "rds", data.rds),
    ("DynamoDB", "dynamodb", data.dynamodb),
    ("S3", "s3", data.s3),
    ("SQS", "sqs", events.sqs),
    ("SNS", "sns", events.sns),
    ("EventBridge", "events", events.eventbridge),
    ("Step Functions", "stepfunctions", events.stepfunctions),
    ("CloudWatch", "cloudwatch", operate.cloudwatch),
    ("CloudWatch Logs", "logs", operate.logs),
    ("CloudTrail", "cloudtrail", operate.cloudtrail),
)


def survey(region: str | None = None, *, readers: Iterable[tuple[str, str, Reader]] | None = None) -> Account:
    """The account as it is now in ``region`` (default: the sandbox's), read
    with describe and list calls of every service the sandbox used.

    A service whose calls fail is skipped with a note (``Account.notes``).
    ``Account.undrawn`` names what CloudTrail's records say this sandbox
    created and did not delete but the survey did not find.
    """
    region = region or aws.default_region()
    s = Survey(region)
    for title, service, reader in READERS if readers is None else readers:
        if not used(service):
            continue
        try:
            reader(s)
        except Exception as error:  # noqa: BLE001  (one service's failure is a note, never the whole drawing)
            s.account.notes.append(f"{title} could not be read ({error_text(error)}); its resources are not drawn.")
    account = s.resolve()
    operate.unused_roles_to_details(s)
    try:
        from labkit.services import cloudtrail

        account.undrawn = trail.undrawn(cloudtrail.recorded(), region, account.names())
    except Exception as error:  # noqa: BLE001  (the check is an extra, the drawing stands without it)
        account.notes.append(f"CloudTrail's records could not be compared with the drawing ({error_text(error)}).")
    return account


def draw(title: str | None = None, *, only: str | Iterable[str] | None = None, region: str | None = None,
         require_graphviz: bool | None = None) -> AccountFigure:
    """Draw the account as it is now (``lab.diagram()``).

    Args:
        title: the caption (default: "The account in <region>").
        only: keep only resources whose names start with this prefix (or one of these), e.g. ``"shop"``.
        region: the region to survey (default: the sandbox's).
        require_graphviz: as in :func:`labkit.notebook.draw`.
    """
    account = survey(region).only(only)
    return draw_account(account, title or f"The account in {account.region}", require_graphviz=require_graphviz)


def install() -> None:
    """Nothing to start: the survey reads the services when asked."""


def reset() -> None:
    """Nothing kept between drawings."""
