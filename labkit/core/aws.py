"""Small AWS conventions every plane needs: ARNs, timestamps, regions, and
labkit's own clients.

Kept in one place so that an ARN is parsed one way and a timestamp formatted
one way across the course.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

#: The region every lab uses. moto emulates all regions; one is enough to learn.
REGION = "us-east-1"
#: moto's default account id.
ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class Arn:
    """An ARN split into its fields: ``arn:partition:service:region:account:resource``."""

    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_name(self) -> str:
        """The resource without its type: ``orders`` in ``table/orders``,
        ``orders:live`` in ``function:orders:live``."""
        if "/" in self.resource:
            return self.resource.rsplit("/", 1)[-1]
        if ":" in self.resource:
            return self.resource.split(":", 1)[1]
        return self.resource


def parse_arn(arn: str) -> Arn:
    """Split an ARN; raises ``ValueError`` naming the ARN if it is not one."""
    parts = str(arn).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r} (expected arn:partition:service:region:account:resource)")
    return Arn(*parts[1:])


def make_arn(service: str, resource: str, region: str = REGION, account: str = ACCOUNT_ID) -> str:
    """``arn:aws:<service>:<region>:<account>:<resource>``."""
    return f"arn:aws:{service}:{region}:{account}:{resource}"


def iso_timestamp(epoch: float | None = None, *, millis: bool = True) -> str:
    """An AWS-style UTC timestamp: ``2026-11-30T09:00:00.000Z`` (or without millis).

    ``epoch`` defaults to the sandbox clock's now.
    """
    if epoch is None:
        from labkit.core.clock import clock

        epoch = clock.now()
    moment = datetime.fromtimestamp(epoch, timezone.utc)
    if millis:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_of(value: Any) -> float | None:
    """Seconds since the epoch from a number, a numeric string, an ISO 8601
    string or a ``datetime``; ``None`` when it is none of these."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    return None


def default_region() -> str:
    """The region a client made without ``region_name`` would use here."""
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or REGION


def region_of(context: dict[str, Any] | None = None, arn: str | None = None) -> str:
    """The region of a botocore call (its request context) or of an ARN,
    falling back on :func:`default_region`."""
    if arn:
        try:
            region = parse_arn(arn).region
        except ValueError:
            region = ""
        if region:
            return region
    if context and context.get("client_region"):
        return str(context["client_region"])
    return default_region()


# --------------------------------------------------------------------------
# labkit's own clients
# --------------------------------------------------------------------------

_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()

#: The request-context key that marks a call as labkit's own (read by :mod:`labkit.core.hooks`).
INTERNAL_CONTEXT_KEY = "labkit_internal"


def _mark_internal(context: dict[str, Any], **_: Any) -> None:
    context[INTERNAL_CONTEXT_KEY] = True


def mark_client_internal(client: Any) -> None:
    """Mark every call this client makes as labkit's own."""
    client.meta.events.register_first("before-parameter-build", _mark_internal)


def internal_client(service: str, region: str | None = None) -> Any:
    """A boto3 client that labkit uses for its own work (reading a table's
    capacity, a topic's attributes...). Its calls are marked internal
    (:func:`labkit.core.hooks.is_internal`): planes that throttle, record or
    enforce leave them alone. One client per service and region, dropped by
    ``lab.reset()``."""
    region = region or default_region()
    key = (service, region)
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            import boto3

            client = boto3.session.Session(region_name=region).client(service, region_name=region)
            mark_client_internal(client)
            _CLIENTS[key] = client
        return client


def forget_clients() -> None:
    """Drop labkit's cached clients (after a reset, or when handlers change)."""
    with _CLIENTS_LOCK:
        _CLIENTS.clear()
