"""The moto internals the CloudWatch service patches or calls."""

from __future__ import annotations

from labkit.core.seams import Seam

from . import logs, metrics, queries

SEAMS: tuple[Seam, ...] = (
    # Replaced.
    Seam("moto.cloudwatch.models", "CloudWatchBackend.put_metric_data", ("self", "namespace", "metric_data"),
         metrics.put_metric_data),
    Seam("moto.cloudwatch.responses", "CloudWatchResponse.list_metrics", ("self",), queries.list_metrics),
    Seam("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_statistics", ("self",),
         queries.get_metric_statistics),
    Seam("moto.cloudwatch.responses", "CloudWatchResponse.get_metric_data", ("self",), queries.get_metric_data),
    Seam("moto.logs.utils", "EventMessageFilter.matches", ("self", "message"), logs.event_message_matches),
    Seam("moto.logs.models", "LogsBackend.put_log_events", ("self", "log_group_name", "log_stream_name", "log_events"),
         logs.put_log_events),
    Seam("moto.logs.models", "LogStream._send_log_events",
         ("self", "service", "destination_arn", "filter_name", "log_events"), logs.send_log_events),
    # Called.
    Seam("moto.cloudwatch.models", "cloudwatch_backends", None),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.metric_data", None, instance=True),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.alarms", None, instance=True),
    Seam("moto.cloudwatch.models", "CloudWatchBackend.aws_metric_data", None),
    Seam("moto.cloudwatch.models", "MetricDatum.value", None, instance=True),
    Seam("moto.cloudwatch.models", "MetricAggregatedDatum.sample_count", None, instance=True),
    Seam("moto.cloudwatch.models", "Alarm.state_value", None, instance=True),
    Seam("moto.cloudwatch.models", "Alarm.metric_data_queries", None, instance=True),
    Seam("moto.cloudwatch.metric_data_expression_parser", "parse_expression", ("expression", "results")),
    Seam("moto.cloudwatch.exceptions", "InvalidParameterValue", None),
    Seam("moto.cloudwatch.exceptions", "InvalidParameterCombination", None),
    Seam("moto.core.responses", "ActionResult", None),
    Seam("moto.logs.utils", "EventMessageFilter.filter_type", None, instance=True),
    Seam("moto.logs.models", "LogsBackend.filters", None, instance=True),
    Seam("moto.logs.metric_filters", "MetricFilters.get_matching_filters",
         ("self", "prefix", "log_group_name", "metric_name", "metric_namespace")),
    Seam("moto.logs.models", "LogGroup.subscription_filters", None, instance=True),
    Seam("moto.logs.models", "LogsBackend.groups", None, instance=True),
    Seam("moto.logs.metric_filters", "MetricFilters.delete_filter", ("self", "filter_name", "log_group_name")),
    Seam("moto.logs.metric_filters", "MetricFilters.metric_filters", None, instance=True),
    Seam("moto.sqs.models", "sqs_backends", None),
    Seam("moto.sqs.models", "Queue._messages", None, instance=True),
    Seam("moto.sqs.models", "Message.visible", None),
    Seam("moto.sqs.models", "Message.delayed", None),
    Seam("moto.sns.models", "sns_backends", None),
    Seam("moto.sns.models", "Subscription._filter_policy_matcher", None, instance=True),
    Seam("moto.events.models", "events_backends", None),
    Seam("moto.events.models", "EventPattern.matches_event", ("self", "event")),
    Seam("moto.stepfunctions.parser.models", "stepfunctions_parser_backends", None),
    Seam("moto.awslambda.utils", "get_backend", ("account_id", "region")),
)
