"""Where the EventBridge service reaches into moto.

==============================  =============================================
moto method                     what labkit does instead
==============================  =============================================
``Rule.send_to_targets``        disabled and schedule-only rules receive no
                                events; SQS, CloudWatch Logs, Lambda, SNS and
                                Step Functions targets get the payload their
                                Input, InputPath or InputTransformer builds,
                                as on AWS (:mod:`.targets`)
``EventsHandler.put_events``    ``aws.*`` sources are refused per entry;
                                events are stamped with the sandbox clock
                                (:mod:`.api`)
``EventsHandler.put_targets``   a state machine target without a RoleArn is
                                refused (:mod:`.api`)
``EventsHandler.test_event_``   TestEventPattern answers with moto's matcher
``pattern``                     (moto returns ``{}``) (:mod:`.api`)
``Replay.replay_events``        a replay sends only the events in its time
                                window, to the rules in FilterArns
==============================  =============================================

The others are called. The registry checks every seam when EventBridge is
first used; ``tests/services/test_eventbridge.py`` checks them too, instance
attributes on real moto objects.
"""

from __future__ import annotations

from labkit.core.seams import Seam

from .api import put_events, put_targets, test_event_pattern
from .targets import replay_events, send_to_targets

SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.events.models", "Rule.send_to_targets", ("self", "original_event", "transform_input"),
         send_to_targets),
    Seam("moto.events.responses", "EventsHandler.put_events", ("self",), put_events),
    Seam("moto.events.responses", "EventsHandler.put_targets", ("self",), put_targets),
    Seam("moto.events.responses", "EventsHandler.test_event_pattern", ("self",), test_event_pattern),
    Seam("moto.events.models", "Replay.replay_events", ("self", "archive"), replay_events),
    # Called.
    Seam("moto.events.models", "events_backends", None),
    Seam("moto.events.models", "EventsBackend.put_events", ("self", "events")),
    Seam("moto.events.models", "EventsBackend.describe_event_bus", ("self", "name")),
    Seam("moto.events.models", "EventBus.rules", None, instance=True),
    Seam("moto.events.models", "Rule.targets", None, instance=True),
    Seam("moto.events.models", "Rule.state", None, instance=True),
    Seam("moto.events.models", "Rule.arn", None, instance=True),
    Seam("moto.events.models", "Rule.name", None, instance=True),
    Seam("moto.events.models", "Rule.scheduled_expression", None, instance=True),
    Seam("moto.events.models", "Rule.event_pattern", None, instance=True),
    Seam("moto.events.models", "Replay.destination", None, instance=True),
    Seam("moto.events.models", "Replay.event_start_time", None, instance=True),
    Seam("moto.events.models", "Replay.event_end_time", None, instance=True),
    Seam("moto.events.models", "Replay.end_time", None, instance=True),
    Seam("moto.events.models", "Archive.events", None, instance=True),
    Seam("moto.events.models", "EventPattern.load", ("raw_pattern",)),
    Seam("moto.events.models", "EventPattern.matches_event", ("self", "event")),
    Seam("moto.events.models", "EventPattern.get_pattern", ("self",)),
    Seam("moto.events.models", "EventPatternParser.parse", ("self",)),
    Seam("moto.events.models", "ReplayState.COMPLETED", None),
    Seam("moto.events.responses", "EventsHandler._get_param", None),
    Seam("moto.events.responses", "EventsHandler.events_backend", None),
    Seam("moto.events.exceptions", "InvalidEventPatternException", None),
    Seam("moto.events.exceptions", "ValidationException", None),
    Seam("moto.sns.models", "sns_backends", None),
    Seam("moto.sns.models", "SNSBackend.publish",
         ("self", "message", "arn", "phone_number", "subject", "message_attributes", "group_id",
          "deduplication_id", "message_structure")),
    Seam("moto.sqs.models", "sqs_backends", None),
    Seam("moto.sqs.models", "SQSBackend.send_message",
         ("self", "queue_name", "message_body", "message_attributes", "delay_seconds", "deduplication_id",
          "group_id", "system_attributes", "validate_group_id")),
    Seam("moto.logs.models", "logs_backends", None),
    Seam("moto.logs.models", "LogsBackend.ensure_log_stream", ("self", "log_group_name", "log_stream_name")),
    Seam("moto.logs.models", "LogsBackend.put_log_events",
         ("self", "log_group_name", "log_stream_name", "log_events")),
    Seam("moto.logs.exceptions", "ResourceNotFoundException", None),
)
