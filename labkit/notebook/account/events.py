"""Event coordination: SQS queues and their dead-letter queues, SNS topics and
subscriptions, EventBridge buses, rules and targets, Step Functions state
machines and what their tasks call."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from .reading import Survey

PART = "event coordination"


def sqs(s: Survey) -> None:
    client = s.client("sqs")
    for url in s.pages("sqs", "list_queues", "QueueUrls"):
        try:
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"])
        except ClientError as error:
            if error.response["Error"]["Code"] in ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"):
                continue
            raise
        attributes = attributes.get("Attributes", {})
        name = url.rstrip("/").rsplit("/", 1)[-1]
        node = s.node(f"sqs:{name}", "sqs", name, noun="FIFO queue" if name.endswith(".fifo") else "queue", part=PART,
                      keys=(url, attributes.get("QueueArn", "")))
        if attributes.get("RedrivePolicy"):
            policy = json.loads(attributes["RedrivePolicy"])
            s.link(node, policy.get("deadLetterTargetArn", ""), f"after {policy.get('maxReceiveCount')} receives",
                   "moves failed messages to")


def sns(s: Survey) -> None:
    for topic in s.pages("sns", "list_topics", "Topics"):
        arn = topic["TopicArn"]
        name = arn.rsplit(":", 1)[-1]
        s.node(f"sns:{name}", "sns", name, noun="FIFO topic" if name.endswith(".fifo") else "topic", part=PART,
               keys=(arn,))
    for subscription in s.pages("sns", "list_subscriptions", "Subscriptions"):
        protocol, endpoint = subscription.get("Protocol", ""), subscription.get("Endpoint", "")
        if protocol in ("http", "https"):
            endpoint = urlsplit(endpoint).hostname or endpoint
        s.link(subscription["TopicArn"], endpoint, protocol, "delivers to")


def eventbridge(s: Survey) -> None:
    for bus in s.pages("events", "list_event_buses", "EventBuses"):
        rules = s.pages("events", "list_rules", "Rules", EventBusName=bus["Name"])
        if bus["Name"] == "default" and not rules:
            continue
        bus_node = s.node(f"events:bus:{bus['Name']}", "eventbridge", bus["Name"], noun="event bus", part=PART,
                          label=f"{bus['Name']}\nevent bus", keys=(bus["Arn"],))
        for rule in rules:
            name = rule["Name"]
            if name.startswith("Events-Archive-"):
                continue  # the rule an archive makes for itself: the archive is listed under the drawing
            how = rule.get("ScheduleExpression") or ("pattern" if rule.get("EventPattern") else "")
            state = "" if rule.get("State", "ENABLED") == "ENABLED" else " (disabled)"
            node = s.node(f"events:rule:{bus['Name']}/{name}", "rule", name, noun="rule", part=PART,
                          label=f"{name}\n{how}{state}", keys=(rule["Arn"], f"events-rule:{name}"))
            s.account.link(bus_node, node, "", "passes matching events to")
            for target in s.pages("events", "list_targets_by_rule", "Targets", Rule=name, EventBusName=bus["Name"]):
                s.link(node, target["Arn"], "", "sends to")
                if target.get("RoleArn"):
                    s.link(node, target["RoleArn"], "target role", "runs as")
                dead = (target.get("DeadLetterConfig") or {}).get("Arn")
                if dead:
                    s.link(node, dead, "undeliverable events", "sends")
    for archive in s.pages("events", "list_archives", "Archives"):
        s.detail("event archives", archive["ArchiveName"])


#: Step Functions optimised integrations: the service in the resource -> the parameter naming what it calls.
_INTEGRATIONS = {
    "lambda": ("FunctionName",),
    "sqs": ("QueueUrl",),
    "sns": ("TopicArn",),
    "dynamodb": ("TableName",),
    "ecs": ("Cluster",),
    "states": ("StateMachineArn",),
    "events": ("EventBusName",),
    "glue": ("JobName",),
}


def _states(definition: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state of a definition, nested ones too (Parallel branches, Map processors)."""
    for name, state in (definition.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches", []) or []:
            yield from _states(branch)
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _states(state[key])


def _called(s: Survey, resource: str, state: dict[str, Any]) -> list[str]:
    """What a Task state calls, as keys the survey knows."""
    if resource.startswith("arn:aws:lambda:"):
        return [resource]
    if resource.startswith("arn:aws:states:") and ":activity:" in resource:
        s.detail("activities", resource.rsplit(":", 1)[-1])
        return []
    parts = resource.split(":")
    if len(parts) < 6 or not resource.startswith("arn:aws:states:::"):
        return []
    service = parts[5]
    arguments = state.get("Parameters") or state.get("Arguments") or {}
    found = []
    for key in _INTEGRATIONS.get(service, ()):
        value = arguments.get(key)
        if isinstance(value, str) and not value.startswith(("{%", "$")):
            found.append(value if value.startswith(("arn:", "https:")) else f"{service}:{value}")
    for entry in arguments.get("Entries", []) if service == "events" else []:
        if isinstance(entry, dict) and isinstance(entry.get("EventBusName"), str):
            found.append(f"events:bus:{entry['EventBusName']}")
    return found


def stepfunctions(s: Survey) -> None:
    client = s.client("stepfunctions")
    for machine in s.pages("stepfunctions", "list_state_machines", "stateMachines"):
        arn = machine["stateMachineArn"]
        described = s.read(client.describe_state_machine, stateMachineArn=arn)
        if described is None:
            continue
        name = machine["name"]
        node = s.node(f"states:{name}", "stepfunctions", name, noun=f"{machine.get('type', 'STANDARD').lower()} "
                      "state machine", part=PART, label=f"{name}\n{machine.get('type', '').lower()}", keys=(arn,))
        if described.get("roleArn"):
            s.link(node, described["roleArn"], "", "runs as")
        try:
            definition = json.loads(described.get("definition") or "{}")
        except ValueError:
            s.account.notes.append(f"The definition of state machine {name} could not be read.")
            continue
        calls: dict[str, list[str]] = defaultdict(list)
        for state_name, state in _states(definition):
            if state.get("Type") == "Task" and isinstance(state.get("Resource"), str):
                for key in _called(s, state["Resource"], state):
                    calls[key].append(state_name)
        for key, states in calls.items():
            s.link(node, key, ", ".join(states[:3]) + (f" +{len(states) - 3}" if len(states) > 3 else ""), "calls")
    for activity in s.pages("stepfunctions", "list_activities", "activities"):
        s.detail("activities", activity["name"])
