"""Reading moto's ECS records: the account, the backends, a service's record."""

from __future__ import annotations

from typing import Any

from labkit.core import aws


def account() -> str:
    from labkit.core import sandbox

    return sandbox.current().account_id if sandbox.running() else aws.ACCOUNT_ID


def backend(region: str | None = None) -> Any:
    from moto.ecs.models import ecs_backends

    return ecs_backends[account()][region or aws.default_region()]


def service_record(region: str, cluster: str, name: str) -> Any | None:
    return backend(region).services.get(f"{cluster.split('/')[-1]}:{name.split('/')[-1]}")
