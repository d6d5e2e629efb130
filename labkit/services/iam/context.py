"""The condition keys every request carries: region, time, source address."""

from __future__ import annotations

from typing import Any

from labkit.core import aws

#: A documentation address (TEST-NET-3): where the sandbox's requests seem to come from.
DEFAULT_SOURCE_IP = "203.0.113.10"
_SOURCE_IP = [DEFAULT_SOURCE_IP]


def set_source_ip(address: str) -> None:
    """The address every request seems to come from (``aws:SourceIp``)."""
    _SOURCE_IP[0] = str(address)


def source_ip() -> str:
    return _SOURCE_IP[0]


_LAST_SECOND: list[Any] = [None, ""]


def _current_time(now: float) -> str:
    second = int(now)
    if _LAST_SECOND[0] != second:  # formatted once per second of sandbox time
        _LAST_SECOND[:] = [second, aws.iso_timestamp(second, millis=False)]
    return str(_LAST_SECOND[1])


def base_context(region: str) -> dict[str, Any]:
    from labkit.core.clock import clock

    now = clock.now()
    return {"aws:RequestedRegion": region, "aws:CurrentTime": _current_time(now),
            "aws:EpochTime": str(int(now)), "aws:SourceIp": source_ip(), "aws:SecureTransport": "true"}


