"""Three EventBridge API calls answered as AWS answers them: PutEvents, PutTargets and TestEventPattern.

What AWS does
    ``PutEvents`` refuses, entry by entry, an event whose ``source`` begins
    with ``aws.`` (only AWS services may use that prefix) and stamps every
    event with the time it was received unless the entry gives a ``Time``.
    ``PutTargets`` refuses a target that EventBridge can only reach through a
    role (a Step Functions state machine) when it has no ``RoleArn``.
    ``TestEventPattern`` tells you whether a pattern matches an event (and
    checks that the event has the fields every event has).

What moto 5.2 does
    It accepts ``aws.*`` sources, stamps events with real time, accepts a
    state machine target without a role, and returns ``{}`` from
    ``TestEventPattern``.

What this module does instead
    :func:`put_events` (in place of ``EventsHandler.put_events``) refuses
    ``aws.*`` entries with ``NotAuthorizedForSourceException``, lets the others
    through, and stamps an entry without ``Time`` with the sandbox clock (so
    that ``lab.clock.advance`` moves event times, archives and replay windows
    together). :func:`put_targets` refuses a state machine target without a
    ``RoleArn`` with AWS's ``ValidationException``, before moto stores any of
    the request's targets. :func:`test_event_pattern` answers with the matcher
    rules use.
"""

from __future__ import annotations

import json
from typing import Any

from labkit.core.clock import clock

from .payloads import TEST_EVENT_FIELDS, pattern_matches

__all__ = ["put_events", "put_targets", "test_event_pattern"]

#: Target services EventBridge reaches only through the target's role (PutTargets wants a RoleArn).
ROLE_REQUIRED = ("states",)

#: The error AWS gives an entry whose source only an AWS service may use.
REFUSED = {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}


def put_events(original: Any, response: Any) -> Any:
    """PutEvents: an entry whose source begins with ``aws.`` fails (only AWS
    services may use that prefix); the other entries go through, stamped with
    the sandbox clock unless they give a Time."""
    entries = response._get_param("Entries") or []
    if len(entries) > 10:
        return original(response)  # moto refuses the whole request, as AWS does
    refused = {i for i, e in enumerate(entries) if str(e.get("Source") or "").startswith("aws.")}
    now = clock.now()
    allowed = [{"Time": now, **e} for i, e in enumerate(entries) if i not in refused]
    results = iter(response.events_backend.put_events(allowed) if allowed else [])
    out = [dict(REFUSED) if i in refused else next(results) for i in range(len(entries))]
    return json.dumps({"FailedEntryCount": sum("ErrorCode" in e for e in out), "Entries": out})


def put_targets(original: Any, response: Any) -> Any:
    """PutTargets: a state machine target needs a ``RoleArn`` (the whole request
    is refused, as on AWS); the rest is moto's."""
    from moto.events.exceptions import ValidationException

    for target in response._get_param("Targets") or []:
        arn = str(target.get("Arn") or "")
        if arn.split(":")[2:3] and arn.split(":")[2] in ROLE_REQUIRED and not target.get("RoleArn"):
            raise ValidationException(f"RoleArn is required for target {arn}.")
    return original(response)


def test_event_pattern(original: Any, response: Any) -> Any:
    """TestEventPattern answers with the matcher rules use (moto returns {})."""
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.models import EventPatternParser

    pattern = response._get_param("EventPattern")
    EventPatternParser(pattern).parse()  # raises InvalidEventPatternException
    try:
        event = json.loads(response._get_param("Event") or "")
    except ValueError:
        raise ValidationException("Parameter Event is not valid. Reason: Event is not valid JSON.") from None
    if not isinstance(event, dict):
        raise InvalidEventPatternException(reason="Event must be a JSON object")
    missing = [f for f in TEST_EVENT_FIELDS if f not in event]
    if missing:
        raise ValidationException(
            f"Parameter Event is not valid. Reason: Provided Event is missing {', '.join(missing)}.")
    return json.dumps({"Result": pattern_matches(pattern, event)})
