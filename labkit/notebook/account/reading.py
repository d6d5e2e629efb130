"""The survey: every service's describe and list calls, read into one graph.

Each reader (in :mod:`.front`, :mod:`.compute`, :mod:`.data`, :mod:`.events`,
:mod:`.operate`) adds the nodes of one service and the edges it knows; an
edge to another service's resource is written against a *key* (an ARN, a
queue URL, a DNS name, an address) and resolved once every service has been
read, so the order of the readers does not matter. A reader that fails
becomes a note in the drawing, never an exception.

A service the sandbox never used is not asked: its labkit plane is not
installed yet (any call of the service installs it), so it holds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from labkit.core import aws, registry

from .model import Account, Node

#: botocore service -> (part of the book, icon, noun) of a resource found only by its ARN.
ARN_KINDS: dict[str, tuple[str, str, str]] = {
    "lambda": ("compute", "lambda", "function"),
    "sqs": ("event coordination", "sqs", "queue"),
    "sns": ("event coordination", "sns", "topic"),
    "states": ("event coordination", "stepfunctions", "state machine"),
    "events": ("event coordination", "eventbridge", "event bus"),
    "dynamodb": ("data", "dynamodb", "table"),
    "s3": ("data", "s3", "bucket"),
    "iam": ("operate and secure", "iamrole", "role"),
    "logs": ("operate and secure", "logs", "log group"),
    "ecs": ("compute", "ecs", "cluster"),
    "elasticloadbalancing": ("front door", "elb", "target group"),
    "autoscaling": ("compute", "autoscaling", "Auto Scaling group"),
}


#: Error codes that mean "no longer exists".
GONE = {"ResourceNotFoundException", "TargetGroupNotFound", "StateMachineDoesNotExist", "NotFoundException",
        "NoSuchHostedZone", "ClientException", "InvalidLaunchTemplateName.NotFoundException",
        "InvalidLaunchTemplateId.NotFound", "LoadBalancerNotFound", "ListenerNotFound"}


def _dns(name: str) -> str:
    """A DNS name compared the way a resolver would: lower case, no final dot, no ``dualstack.``."""
    name = name.strip().lower().rstrip(".")
    return name[len("dualstack."):] if name.startswith("dualstack.") else name


class Survey:
    """One survey in progress: the account being built and the keys that name its nodes."""

    def __init__(self, region: str) -> None:
        self.region = region
        self.account = Account(region)
        self.keys: dict[str, str] = {}
        self.pending: list[tuple[str, str, str, str, bool, bool]] = []
        self.memo: dict[str, Any] = {}  # what one reader leaves for another

    # -- clients ----------------------------------------------------------

    def client(self, service: str) -> Any:
        """labkit's own client (its calls are not recorded, throttled or denied)."""
        return aws.internal_client(service, self.region)

    def pages(self, service: str, operation: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item under ``key`` of every page of a paginated call."""
        client = self.client(service)
        items: list[Any] = []
        if client.can_paginate(operation):
            for page in client.get_paginator(operation).paginate(**kwargs):
                items.extend(page.get(key) or [])
            return items
        # A few list calls (EventBridge's) have no paginator in botocore: follow NextToken by hand.
        call, token = getattr(client, operation), None
        while True:
            page = call(**kwargs, **({"NextToken": token} if token else {}))
            items.extend(page.get(key) or [])
            token = page.get("NextToken")
            if not token:
                return items

    def read(self, call: Callable[..., Any], **kwargs: Any) -> Any:
        """``call(**kwargs)``, or None when what it names was deleted since it was listed
        (a resource can go between a list call and its describe call)."""
        try:
            return call(**kwargs)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in GONE:
                return None
            raise

    # -- nodes and keys ---------------------------------------------------

    def node(self, node_id: str, kind: str, name: str, *, noun: str, part: str, label: str | None = None,
             members: tuple[str, ...] = (), keys: tuple[str, ...] = ()) -> str:
        self.account.add(node_id, Node(kind, name, label if label is not None else name, noun, part, members))
        for key in (node_id, *keys):
            self.key(key, node_id)
        return node_id

    def key(self, key: str | None, node_id: str) -> None:
        """``key`` (an ARN, URL, DNS name, address, or ``service:name``) names ``node_id``."""
        if key:
            self.keys[key] = node_id
            if "." in key and ":" not in key:  # a DNS name
                self.keys[_dns(key)] = node_id

    def find(self, key: str | None) -> str | None:
        if not key:
            return None
        for candidate in (key, _dns(key), key.rstrip(":*"), re.sub(r":(\$LATEST|\d+)$", "", key)):
            if candidate in self.keys:
                return self.keys[candidate]
        return None

    def link(self, source: str, target_key: str, label: str = "", verb: str = "connects to", *,
             soft: bool = False, outside: bool = True) -> None:
        """An edge from the node ``source`` names (a node id or any key) to whatever
        ``target_key`` names, resolved after every reader ran.
        A ``soft`` edge is drawn only if the two nodes are not linked already;
        with ``outside=False`` a key no reader claimed draws nothing."""
        self.pending.append((source, target_key, label, verb, soft, outside))

    def detail(self, heading: str, name: str) -> None:
        self.account.detail(heading, name)

    # -- the end ----------------------------------------------------------

    def resolve(self) -> Account:
        """Draw the pending edges: to the node a key names, or to a node for
        what lies outside the account (an address, a web site, a mailbox)."""
        soft = [p for p in self.pending if p[4]]
        for source_key, target_key, label, verb, is_soft, outside in [p for p in self.pending if not p[4]] + soft:
            source = self.find(source_key)
            target = self.find(target_key) or (self._outside(target_key) if outside and source else None)
            if source is None or target is None:
                continue
            if is_soft and {(source, target), (target, source)} & {(a, b) for a, b, _ in self.account.edges}:
                continue
            self.account.link(source, target, label, verb)
        return self.account

    def _outside(self, key: str) -> str | None:
        """A node for a key no reader claimed."""
        if key.startswith("arn:"):
            try:
                arn = aws.parse_arn(key)
            except ValueError:
                return None
            part, kind, noun = ARN_KINDS.get(arn.service, ("", "client", f"{arn.service} resource"))
            node_id = f"missing:{key}"
            name = (arn.resource_name.split(":")[0] if arn.service == "lambda" else arn.resource_name) or arn.resource
            self.account.add(node_id, Node(kind, name, f"{name}\n(not found)", f"{noun} (not found)", ""))
            return node_id
        if key.startswith(("apigw:", "sqs:", "lambda:", "dynamodb:", "sns:", "asg:", "elbv2:", "rds:", "ecs",
                           "elasticache:", "events", "logs:", "apigw-name:")):
            return None  # a resource of this account that no longer exists: nothing to draw
        if "@" in key:
            node_id = f"outside:{key}"
            self.account.add(node_id, Node("users", key, key, "mailbox", ""))
            return node_id
        node_id = f"outside:{_dns(key)}"
        noun = "address" if re.fullmatch(r"[\d.]+|[0-9a-f:]+", key) else "web endpoint"
        if re.fullmatch(r"[a-z0-9-]+\.amazonaws\.com", key):
            noun = "AWS service"  # an API Gateway integration that calls a service's API directly
        self.account.add(node_id, Node("internet", key, key, noun, ""))
        return node_id


#: botocore services labkit does not emulate -> a call that shows the learner used them.
UNOWNED = {"apigatewayv2": "CreateApi"}


def used(botocore_service: str) -> bool:
    """False when the sandbox never called this botocore service (its labkit
    plane is not installed, or for a service labkit has no plane for, no
    record of its first create call), so it holds nothing worth a call."""
    for service in registry.declared().values():
        if botocore_service in service.botocore:
            return service.name in registry.installed()
    if botocore_service in UNOWNED:
        from labkit.services import cloudtrail

        return any(r.get("eventName") == UNOWNED[botocore_service] for r in cloudtrail.recorded())
    return True


def error_text(error: Exception) -> str:
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        return f"{info.get('Code', 'error')}: {info.get('Message', '')}".rstrip(": ")
    return f"{type(error).__name__}: {error}"


Reader = Callable[[Survey], None]
