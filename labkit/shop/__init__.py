"""The course's running example: Harbour Tea, a small web shop at ``shop.example.com``.

Every chapter's walkthrough adds its piece of the same shop, and
``lab.shop.build(...)`` builds the shop's state up to any chapter in one call,
with plain boto3 (:mod:`.chapters`, one function per chapter), so that a
learner who starts at a chapter gets the account that the chapters before it
would have left::

    shop = lab.shop.build(before="rds")      # what a learner starting the RDS chapter has
    shop = lab.shop.build()                  # the whole shop, through stepfunctions
    requests.get(shop.product_url(2)).json() # Route 53 -> ALB -> EC2 -> cache -> Aurora

What each chapter adds (every name starts with ``shop``; :data:`NAMES`):

==============  ==============================================================
route53         hosted zone ``shop.example.com``
elb             ALB ``shop-alb`` (security group ``shop-alb-sg``), target group
                ``shop-web`` (health check ``/health``), listener :80 -> ``shop-web``;
                alias A record ``shop.example.com`` -> the ALB
apigateway      REST API ``shop-api``, stage ``prod``: ``GET /catalogue`` and
                ``GET /catalogue/{id}``, HTTP proxies to the ALB
ec2             app ``shop-web`` (:func:`.apps.web`), security group ``shop-web-sg``,
                launch template and Auto Scaling group ``shop-web`` (2 instances,
                ELB health checks) in target group ``shop-web``
ecs             cluster ``shop``, image ``shop-cart:1`` (:func:`.apps.cart`), task
                definition, service (2 Fargate tasks) and target group ``shop-cart``
                (security group ``shop-cart-sg``); listener rule ``/cart*`` -> ``shop-cart``
lambda          function ``shop-orders`` (role ``shop-orders-role``), ``POST /orders``
                -> Lambda proxy integration, with API Gateway's permission
elasticache     Valkey replication group ``shop-cache`` (primary + 1 replica)
rds             Aurora PostgreSQL cluster ``shop-db`` (writer ``shop-db-1``, reader
                ``shop-db-2``), database ``shop``, table ``products`` with five teas
dynamodb        table ``shop-orders`` (partition key ``order_id``), written by ``shop-orders``
cloudwatch      log group ``/shop/web``, topic ``shop-alerts``, alarms ``shop-alb-5xx``
                and ``shop-orders-errors`` notifying it
cloudtrail      bucket ``shop-trail-<account>`` and trail ``shop-trail``, logging
iam             roles ``shop-web-role`` (with its instance profile, not yet attached:
                see :func:`.chapters.iam`)
                and ``shop-cart-task-role``; user ``shop-developer``, least privilege
sqs             queue ``shop-order-events``, DLQ ``shop-order-events-dlq`` (5 receives)
sns             topic ``shop-order-placed`` -> ``shop-order-events`` and ``shop-emails``
eventbridge     bus ``shop``, rule ``shop-order-paid``, role ``shop-events-role``
stepfunctions   functions ``shop-reserve``, ``shop-charge``, ``shop-notify``, state
                machine ``shop-fulfil-order`` (role ``shop-fulfil-role``), the
                target of ``shop-order-paid``: every paid order starts it
==============  ==============================================================

The apps find the cache and the database through the SSM parameters under
``/shop/`` that the elasticache and rds chapters write (:mod:`.apps`).

The same shop comes from one CloudFormation template: :func:`template` and
:func:`deploy` (:mod:`.template`, which names what moto's CloudFormation does
not create and labkit fills in).

Time: building lets sandbox time pass (``lab.clock``) where AWS would take
minutes (instances and tasks starting, health checks passing); nothing sleeps.
"""

from __future__ import annotations

from typing import Any

from . import apps, chapters, resources
from . import stack as _stack
from .model import CHAPTERS, NAMES, Shop, chapters_through
from .template import FILLED, template
from .traffic import Hop, LoadResult, Trace, load, trace

__all__ = ["CHAPTERS", "FILLED", "NAMES", "SEAMS", "Hop", "LoadResult", "Shop", "Trace", "build", "built", "deploy",
           "install", "load", "reset", "shop", "template", "trace"]

SEAMS: tuple[Any, ...] = ()

_BUILT: list[str] = []  # the chapters built in this sandbox since the last reset, in order


def _context() -> resources.Context:
    from labkit.core import sandbox

    lab = sandbox.current()
    return resources.Context(session=lab.session(), account_id=lab.account_id)


def build(through: str | None = None, *, before: str | None = None) -> Shop:
    """Build the shop up to and including chapter ``through`` (default: every
    chapter), or every chapter before ``before``; return the :class:`Shop`.

    Idempotent: each chapter looks before it creates, so building again, or
    further, adds only what is missing. After ``lab.reset()`` it starts over.
    """
    wanted = chapters_through(through, before)
    ctx = _context()
    for chapter in wanted:
        chapters.BUILDERS[chapter](ctx)
        if chapter not in _BUILT:
            _BUILT.append(chapter)
    return shop(ctx)


def deploy(stack_name: str = "shop", through: str | None = None, *, before: str | None = None) -> Shop:
    """Deploy the shop up to chapter ``through`` from its CloudFormation
    template (:func:`template`): ``create_stack`` and its waiter, then labkit
    creates, from the template's own properties, what moto's CloudFormation
    does not (:data:`FILLED`: ElastiCache replication groups, Aurora
    clusters, CloudWatch alarms, CloudTrail trails, bucket and queue policies;
    ECS services and API Gateway methods, whose load balancers and request
    parameters moto ignores; and what refers to them). The returned
    :class:`Shop` lists those in ``filled``. The apps' code and the
    ``products`` rows are not in any template: they are registered and seeded here.

    Deploying again with the same stack name adds nothing; deploying where
    the shop was built with boto3 raises ``ValueError`` (reset first).
    """
    ctx = _context()
    wanted = chapters_through(through, before)
    if built() and not _stack.exists(ctx, stack_name):
        raise ValueError(f"the shop is already built in this sandbox (through {built()[-1]}): CloudFormation would "
                         "refuse its names as AWS does (the resources exist); lab.reset() first")
    body = template(wanted[-1], network=resources.network(ctx),
                    ami=ctx.client("ssm").get_parameter(Name=resources.AMI_PARAMETER)["Parameter"]["Value"])
    filled = _stack.deploy(ctx, stack_name, body)
    for chapter in wanted:
        if chapter not in _BUILT:
            _BUILT.append(chapter)
    result = shop(ctx)
    result.stack_name, result.filled = stack_name, tuple(filled)
    return result


def built() -> tuple[str, ...]:
    """The chapters built since the last ``lab.reset()``, in book order."""
    return tuple(c for c in CHAPTERS if c in _BUILT)


def shop(ctx: resources.Context | None = None) -> Shop:
    """The :class:`Shop` as it stands (its URL, API URL, names of what is built)."""
    ctx = ctx or _context()
    done = built()
    api_id = resources.rest_api(ctx) if "apigateway" in done else None
    return Shop(api_url=resources.api_url(api_id) if api_id else None, chapters_built=done,
                names={c: list(NAMES[c]) for c in done})


def install() -> None:
    """Let the apps reload their configuration when an SSM parameter changes
    (the registry calls this once, at first use)."""
    apps.follow_parameters()


def reset() -> None:
    """Forget what was built and the apps' clients (``lab.reset()``)."""
    _BUILT.clear()
    apps.reset()
