"""``AWS/ApiGateway`` metrics, as a REST API publishes them.

Each request that reached a stage adds ``Count`` (1), ``4XXError`` and
``5XXError`` (1 or 0), ``Latency`` and, when an integration ran,
``IntegrationLatency`` (milliseconds), under the dimensions ``ApiName`` and
``ApiName, Stage``. (AWS publishes the per-method dimension set only when
detailed metrics are enabled; labkit leaves it out.) They are written straight
into moto's CloudWatch, as labkit's Lambda runtime writes ``AWS/Lambda``.
"""

from __future__ import annotations

NAMESPACE = "AWS/ApiGateway"


def record(api_name: str, stage: str, status: int, latency_ms: float, integration_ms: float | None,
           region: str, account_id: str) -> None:
    """Publish one request's metrics."""
    from moto.cloudwatch.models import cloudwatch_backends

    values = {"Count": (1.0, "Count"), "4XXError": (1.0 if 400 <= status < 500 else 0.0, "Count"),
              "5XXError": (1.0 if status >= 500 else 0.0, "Count"), "Latency": (latency_ms, "Milliseconds")}
    if integration_ms is not None:
        values["IntegrationLatency"] = (integration_ms, "Milliseconds")
    dimension_sets = [[{"Name": "ApiName", "Value": api_name}],
                      [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}]]
    data = [{"MetricName": name, "Value": value, "Unit": unit, "Dimensions": dims}
            for name, (value, unit) in values.items() for dims in dimension_sets]
    cloudwatch_backends[account_id][region].put_metric_data(NAMESPACE, data)
