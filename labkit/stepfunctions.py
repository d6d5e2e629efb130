"""Step Functions helpers: draw a state machine from its ASL, wait for an execution, read its history.

What AWS does
-------------
AWS Step Functions runs a *state machine* written in the Amazon States
Language (ASL, a JSON document). The console draws every state machine as a
graph (tasks, choices, parallel branches, map iterators, error paths), and
records each execution as a list of *history events* that you read with
``GetExecutionHistory``, page by page.

What moto does
--------------
With ``labkit.start()``, moto runs in *execute* mode: it really interprets the
ASL (Pass, Task, Choice, Wait, Parallel, Map, Succeed, Fail, Retry and Catch),
calls DynamoDB, SQS, SNS and Lambda for Task states, and writes AWS-shaped
history events. Each execution runs in a background thread, so
``start_execution`` returns at once, as on AWS. There is no console, so
nothing draws the graph, and botocore has no waiter for Step Functions
(``client.waiter_names`` is empty), so you poll ``describe_execution``.

What labkit adds
----------------
* :func:`draw_state_machine`: the console's graph, drawn from the ASL with
  Graphviz in the book's house style (:mod:`labkit.diagrams`): Choice rules on
  their edges, Catch paths dashed and labelled with their errors, Retry noted
  on the state, Parallel branches and Map iterators as boxes. Alt text is
  written from the ASL when you give none. :func:`state_graph` returns the same
  graph as data (nodes, edges, clusters), which is what the tests inspect.
* :func:`wait_for_execution`: polls ``describe_execution`` a bounded number
  of times until the execution leaves ``RUNNING``.
* :func:`execution_events`, :func:`summarise_history`, :func:`format_history`,
  :func:`task_attempts` and :func:`states_entered`: the history through the
  paginator, and a compact view of it for learners.
* Importing this module silences the error log lines that moto's ASL
  interpreter prints for every failed state (a caught error included); the
  execution's history and status still report every error.

Limits
------
The drawing covers the ASL the course uses (JSONPath and JSONata states,
inline and distributed Map, nested Parallel). It does not draw the inside of
a Distributed Map's item reader or result writer, and it names a task by its
service and action (``DynamoDB PutItem``), not by every parameter.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from labkit.diagrams import (
    CLUSTER_STYLE,
    EDGE_STYLE,
    GRAPH_STYLE,
    NODE_STYLE,
    Figure,
    placeholder_if_no_graphviz,
)

__all__ = [
    "StateGraph",
    "draw_state_machine",
    "describe_state_machine",
    "execution_events",
    "format_history",
    "state_graph",
    "states_entered",
    "summarise_history",
    "task_attempts",
    "wait_for_execution",
]

#: The statuses of an execution that is not finished yet.
UNFINISHED = ("RUNNING", "PENDING_REDRIVE")



# --------------------------------------------------------------------------
# Executions and their history
# --------------------------------------------------------------------------


def wait_for_execution(sfn: Any, execution_arn: str, *, delay: float = 0.2, max_checks: int = 150) -> dict[str, Any]:
    """Poll ``describe_execution`` until the execution has finished; return that description.

    botocore has no waiter for Step Functions, so this is the waiter: at most
    ``max_checks`` calls, ``delay`` seconds apart (30 s with the defaults).

    Args:
        sfn: a boto3 ``stepfunctions`` client.
        execution_arn: what ``start_execution`` returned.
        delay: seconds between two checks.
        max_checks: how many times to ask before giving up.

    Returns:
        The ``describe_execution`` response whose ``status`` is ``SUCCEEDED``,
        ``FAILED``, ``TIMED_OUT`` or ``ABORTED``.

    Raises:
        TimeoutError: the execution was still running after ``max_checks`` checks.
    """
    for check in range(max_checks):
        description: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if description["status"] not in UNFINISHED:
            return description
        if check < max_checks - 1:
            time.sleep(delay)
    raise TimeoutError(
        f"{execution_arn.rsplit(':', 1)[-1]} is still {description['status']} after "
        f"{max_checks} checks ({max_checks * delay:.0f} s)"
    )


def execution_events(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    """Every history event of an execution, oldest first, read page by page."""
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        events.extend(page["events"])
    return events


def _state_names(events: list[dict[str, Any]]) -> dict[int, str]:
    """Event id -> the name of the state it belongs to (found through previousEventId)."""
    by_id = {e["id"]: e for e in events}
    names: dict[int, str] = {}
    open_boxes: dict[str, list[str]] = {"Parallel": [], "Map": []}  # Parallel and Map states entered, not exited
    for event in events:
        kind = event["type"]
        if kind.startswith("Execution"):
            names[event["id"]] = ""
            continue
        box = next((b for b in open_boxes if kind.startswith(b + "State") or kind.startswith(b + "Iteration")
                    or kind.startswith(b + "Run")), None)
        if box is not None:
            if kind.endswith("StateEntered"):
                open_boxes[box].append(event["stateEnteredEventDetails"]["name"])
            names[event["id"]] = open_boxes[box][-1] if open_boxes[box] else ""
            if kind.endswith("StateExited") and open_boxes[box]:
                open_boxes[box].pop()
            continue
        if "stateExitedEventDetails" in event:
            names[event["id"]] = event["stateExitedEventDetails"]["name"]
            continue
        chain, current = [], event
        name = ""
        while current is not None:
            if current["id"] in names:
                name = names[current["id"]]
                break
            chain.append(current["id"])
            details = current.get("stateEnteredEventDetails")
            if details:
                name = details["name"]
                break
            current = by_id.get(current.get("previousEventId", 0))
        for event_id in chain:
            names[event_id] = name
    return names


def states_entered(events: list[dict[str, Any]]) -> list[str]:
    """The names of the states the execution entered, in order (one per entry)."""
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def task_attempts(events: list[dict[str, Any]]) -> dict[str, int]:
    """How many times each Task state was attempted (first try plus retries)."""
    names = _state_names(events)
    attempts: dict[str, int] = {}
    for event in events:
        if event["type"] in ("TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"):
            state = names.get(event["id"], "")
            attempts[state] = attempts.get(state, 0) + 1
    return attempts


def _detail(event: dict[str, Any]) -> str:
    for key, value in event.items():
        if not key.endswith("EventDetails") or not isinstance(value, dict):
            continue
        if "error" in value:
            return str(value["error"])
        if key == "taskScheduledEventDetails":
            return f"{value.get('resourceType')}:{value.get('resource')}"
        if key in ("mapIterationStartedEventDetails", "mapIterationSucceededEventDetails",
                   "mapIterationFailedEventDetails"):
            return f"item {value.get('index')}"
    return ""


def summarise_history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One small dict per event: ``seconds`` since the start, ``type``, ``state`` and ``detail``
    (the error name of a failure, the service and action of a task)."""
    if not events:
        return []
    names = _state_names(events)
    start = events[0]["timestamp"]
    return [
        {"id": e["id"], "seconds": round((e["timestamp"] - start).total_seconds(), 2), "type": e["type"],
         "state": names.get(e["id"], ""), "detail": _detail(e)}
        for e in events
    ]


def format_history(events: list[dict[str, Any]], *, types: Iterable[str] | None = None) -> str:
    """The history as an aligned text table, optionally keeping only some event types
    (a type matches if it contains one of ``types``, e.g. ``["Task", "Execution"]``)."""
    keep = list(types) if types is not None else None
    lines = []
    for row in summarise_history(events):
        if keep is not None and not any(t in row["type"] for t in keep):
            continue
        lines.append(f"{row['seconds']:>7.2f}s  {row['type']:<26} {row['state']:<18} {row['detail']}".rstrip())
    return "\n".join(lines)


# --------------------------------------------------------------------------
# The state machine as a graph
# --------------------------------------------------------------------------


@dataclass
class Node:
    """One box of the drawing: a state, or the Start, End and join markers."""

    id: str
    label: str
    kind: str  # start, end, task, pass, wait, choice, succeed, fail, parallel, map, join
    state: str | None = None
    retry: list[str] = field(default_factory=list)


@dataclass
class Edge:
    """One arrow: ``kind`` is next, choice, default, catch, branch or end."""

    source: str
    target: str
    label: str = ""
    kind: str = "next"


@dataclass
class Cluster:
    """A box around states: a Parallel state, one of its branches, or a Map iterator."""

    id: str
    label: str
    kind: str  # parallel, branch, map
    parent: str | None
    nodes: list[str] = field(default_factory=list)


@dataclass
class StateGraph:
    """A state machine as nodes, edges and clusters (what :func:`draw_state_machine` draws)."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    clusters: dict[str, Cluster] = field(default_factory=dict)

    def node_of(self, state: str) -> Node:
        """The node of the first state called ``state`` (nested states included)."""
        for node in self.nodes.values():
            if node.state == state and node.kind != "join":
                return node
        raise KeyError(state)

    def edges_from(self, state: str, kind: str | None = None) -> list[Edge]:
        """Edges that leave ``state`` (for Parallel and Map: that leave the whole box)."""
        node = self.node_of(state)
        exit_id = f"{node.id}/join" if node.kind in ("parallel", "map") else node.id
        return [e for e in self.edges if e.source == exit_id and (kind is None or e.kind == kind)]

    def label_of(self, node_id: str) -> str:
        return self.nodes[node_id].label.split("\n", 1)[0]


_SERVICES = {
    "lambda": "Lambda", "dynamodb": "DynamoDB", "sqs": "SQS", "sns": "SNS", "states": "Step Functions",
    "events": "EventBridge", "ecs": "ECS", "batch": "Batch", "glue": "Glue", "s3": "S3", "apigateway": "API Gateway",
    "http": "HTTP",
}


def describe_resource(resource: str, parameters: Any = None) -> str:
    """A Task's resource in words: ``DynamoDB PutItem``, ``Lambda Invoke charge-card``, ``Lambda resize``."""
    if resource.startswith("arn:aws:states:::"):
        rest = resource[len("arn:aws:states:::"):]
        pattern = ""
        for suffix in (".sync:2", ".sync", ".waitForTaskToken"):
            if suffix in rest:
                rest, pattern = rest.replace(suffix, ""), suffix.split(":")[0][1:]
        service, _, action = rest.partition(":")
        if service == "aws-sdk":
            service, _, action = action.partition(":")
        text = f"{_SERVICES.get(service, service)} {action[:1].upper()}{action[1:]}".strip()
        if service == "lambda" and isinstance(parameters, Mapping) and isinstance(parameters.get("FunctionName"), str):
            text += f" {_function_name(parameters['FunctionName'])}"
        return f"{text} ({pattern})" if pattern else text
    match = re.match(r"arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)", resource)
    if match:
        return f"Lambda {match.group(1)}"
    match = re.match(r"arn:aws[\w-]*:states:[^:]*:[^:]*:activity:(.+)", resource)
    if match:
        return f"Activity {match.group(1)}"
    return resource


def _function_name(name_or_arn: str) -> str:
    match = re.match(r"arn:aws[\w-]*:lambda:[^:]*:[^:]*:function:([^:]+)", name_or_arn)
    return match.group(1) if match else name_or_arn


_OPERATORS = {
    "Equals": "==", "LessThan": "<", "GreaterThan": ">", "LessThanEquals": "<=", "GreaterThanEquals": ">=",
}


def describe_condition(rule: Mapping[str, Any]) -> str:
    """A Choice rule in words, e.g. ``$.total > 100`` or ``$.express == true and $.country == "FR"``."""
    if "Condition" in rule:  # JSONata
        return str(rule["Condition"])
    if "And" in rule:
        return " and ".join(_grouped(r) for r in rule["And"])
    if "Or" in rule:
        return " or ".join(_grouped(r) for r in rule["Or"])
    if "Not" in rule:
        return f"not {_grouped(rule['Not'])}"
    variable = rule.get("Variable", "$")
    for key, value in rule.items():
        if key in ("Variable", "Next", "Comment", "Assign", "Output"):
            continue
        if key.startswith("Is"):
            kind = key[2:].lower()
            words = {"present": "is present", "null": "is null"}.get(kind, f"is a {kind}")
            return f"{variable} {words}" if value else f"{variable} {words.replace('is', 'is not', 1)}"
        if key == "StringMatches":
            return f"{variable} matches {json.dumps(value)}"
        base, path = (key[:-4], True) if key.endswith("Path") else (key, False)
        for suffix, symbol in sorted(_OPERATORS.items(), key=lambda kv: -len(kv[0])):
            if base.endswith(suffix):
                shown = value if path else json.dumps(value)
                return f"{variable} {symbol} {shown}"
    return json.dumps({k: v for k, v in rule.items() if k != "Next"})


def _grouped(rule: Mapping[str, Any]) -> str:
    text = describe_condition(rule)
    return f"({text})" if " and " in text or " or " in text else text


def describe_retry(retrier: Mapping[str, Any]) -> str:
    """A Retrier in a few words: ``retry GatewayTimeout x2 (1 s, backoff x2.0)``."""
    text = f"retry {', '.join(retrier.get('ErrorEquals', []))}"
    if "MaxAttempts" in retrier:
        text += f" x{retrier['MaxAttempts']}"
    extras = []
    if "IntervalSeconds" in retrier:
        extras.append(f"{retrier['IntervalSeconds']} s")
    if "BackoffRate" in retrier:
        extras.append(f"backoff x{retrier['BackoffRate']}")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _describe_wait(state: Mapping[str, Any]) -> str:
    if "Seconds" in state or "SecondsPath" in state:
        return f"Wait {state.get('Seconds', state.get('SecondsPath'))} s"
    if "Timestamp" in state or "TimestampPath" in state:
        return f"Wait until {state.get('Timestamp', state.get('TimestampPath'))}"
    return "Wait"


def _load(definition: str | Mapping[str, Any]) -> dict[str, Any]:
    loaded = json.loads(definition) if isinstance(definition, str) else dict(definition)
    if "StartAt" not in loaded or "States" not in loaded:
        raise ValueError("a state machine definition needs StartAt and States")
    return loaded


def _iterator(state: Mapping[str, Any]) -> Mapping[str, Any]:
    return state.get("ItemProcessor") or state.get("Iterator") or {"StartAt": "", "States": {}}


def state_graph(definition: str | Mapping[str, Any]) -> StateGraph:
    """The state machine as nodes, edges and clusters, as the console would draw it."""
    machine = _load(definition)
    graph = StateGraph()
    graph.nodes["Start"] = Node("Start", "Start", "start")
    graph.nodes["End"] = Node("End", "End", "end")
    _add_machine(graph, machine, scope="", cluster=None, entry="Start", exit_to="End", top=True)
    return graph


def _add_machine(graph: StateGraph, machine: Mapping[str, Any], *, scope: str, cluster: str | None,
                 entry: str, exit_to: str, top: bool, entry_label: str = "", entry_kind: str = "next") -> None:
    states: Mapping[str, Any] = machine.get("States", {})
    start = machine.get("StartAt", "")
    for name, state in states.items():
        _add_state(graph, name, state, scope=scope, cluster=cluster, exit_to=exit_to, top=top)
    if start in states:
        graph.edges.append(Edge(entry, scope + start, entry_label, entry_kind))


def _member(graph: StateGraph, cluster: str | None, node_id: str) -> None:
    if cluster is not None:
        graph.clusters[cluster].nodes.append(node_id)


def _add_state(graph: StateGraph, name: str, state: Mapping[str, Any], *, scope: str, cluster: str | None,
               exit_to: str, top: bool) -> None:
    kind = str(state.get("Type", "")).lower()
    node_id = scope + name
    retry = [describe_retry(r) for r in state.get("Retry", [])]
    if kind == "task":
        label = f"{name}\n{describe_resource(str(state.get('Resource', '')), state.get('Parameters') or state.get('Arguments'))}"
    elif kind == "wait":
        label = f"{name}\n{_describe_wait(state)}"
    elif kind in ("parallel", "map"):
        label = f"{name}\n{kind.title()}"
    else:
        label = f"{name}\n{kind.title()}" if kind in ("pass", "choice") else name
    if retry:
        label += "\n" + "\n".join(retry)

    exit_id = node_id
    if kind in ("parallel", "map"):
        box = f"{node_id}/box"
        if kind == "parallel":
            box_label = f"Parallel: {name}"
        else:
            items = state.get("ItemsPath") or state.get("Items") or "$"
            mode = _iterator(state).get("ProcessorConfig", {}).get("Mode", "INLINE")
            box_label = f"Map: {name}, for each item of {items}"
            if state.get("MaxConcurrency"):
                box_label += f", {state['MaxConcurrency']} at a time"
            if mode == "DISTRIBUTED":
                box_label += " (distributed)"
        graph.clusters[box] = Cluster(box, box_label, kind, cluster)
        graph.nodes[node_id] = Node(node_id, label, kind, name, retry)
        exit_id = f"{node_id}/join"
        graph.nodes[exit_id] = Node(exit_id, "", "join", name)
        graph.clusters[box].nodes += [node_id, exit_id]
        if kind == "parallel":
            for number, branch in enumerate(state.get("Branches", []), start=1):
                branch_id = f"{node_id}/{number}"
                graph.clusters[branch_id] = Cluster(branch_id, f"Branch {number}", "branch", box)
                _add_machine(graph, branch, scope=branch_id + "/", cluster=branch_id, entry=node_id,
                             exit_to=exit_id, top=False, entry_label="", entry_kind="branch")
        else:
            _add_machine(graph, _iterator(state), scope=node_id + "/", cluster=box, entry=node_id,
                         exit_to=exit_id, top=False, entry_label="each item", entry_kind="branch")
    else:
        graph.nodes[node_id] = Node(node_id, label, kind, name, retry)
        _member(graph, cluster, node_id)

    if kind == "choice":
        for rule in state.get("Choices", []):
            graph.edges.append(Edge(exit_id, scope + rule["Next"], describe_condition(rule), "choice"))
        if "Default" in state:
            graph.edges.append(Edge(exit_id, scope + state["Default"], "otherwise", "default"))
    elif kind == "succeed" or (kind == "fail" and top):
        graph.edges.append(Edge(exit_id, exit_to, "", "end"))
    elif kind != "fail":
        if state.get("End"):
            graph.edges.append(Edge(exit_id, exit_to, "", "end"))
        elif "Next" in state:
            graph.edges.append(Edge(exit_id, scope + state["Next"], "", "next"))
    for catcher in state.get("Catch", []):
        errors = ", ".join(catcher.get("ErrorEquals", []))
        graph.edges.append(Edge(exit_id, scope + catcher["Next"], f"catch {errors}", "catch"))


# --------------------------------------------------------------------------
# Alt text, written from the ASL
# --------------------------------------------------------------------------


def describe_state_machine(definition: str | Mapping[str, Any]) -> str:
    """The state machine in words: its states and transitions, for alt text and for reading."""
    machine = _load(definition)
    return " ".join(_describe_machine(machine))


def _describe_machine(machine: Mapping[str, Any], where: str = "workflow") -> list[str]:
    opening = f"It starts at {machine.get('StartAt')}." if where == "workflow" else f"starts at {machine.get('StartAt')};"
    sentences = [opening]
    for name, state in machine.get("States", {}).items():
        sentences.append(_describe_state(name, state, where))
    return sentences


def _then(state: Mapping[str, Any], where: str) -> str:
    if state.get("End"):
        return f"then the {where} ends"
    if "Next" in state:
        return f"then goes to {state['Next']}"
    return ""


def _describe_state(name: str, state: Mapping[str, Any], where: str = "workflow") -> str:
    kind = str(state.get("Type", ""))
    if kind == "Task":
        resource = describe_resource(str(state.get("Resource", "")), state.get("Parameters") or state.get("Arguments"))
        what = f"{name} is a task that calls {resource}"
    elif kind == "Choice":
        rules = [f"if {describe_condition(r)} it goes to {r['Next']}" for r in state.get("Choices", [])]
        if "Default" in state:
            rules.append(f"otherwise to {state['Default']}")
        return f"{name} is a choice: {'; '.join(rules)}."
    elif kind == "Parallel":
        branches = [f"branch {n} " + " ".join(_describe_machine(b, "branch"))
                    for n, b in enumerate(state.get("Branches", []), 1)]
        what = f"{name} runs {len(branches)} branches at the same time ({' '.join(branches)})"
    elif kind == "Map":
        items = state.get("ItemsPath") or state.get("Items") or "$"
        inner = " ".join(_describe_machine(_iterator(state), "iteration"))
        what = f"{name} runs one iteration for each item of {items} (each {inner})"
    elif kind == "Wait":
        what = f"{name} " + _describe_wait(state).replace("Wait", "waits", 1)
    elif kind == "Succeed":
        return f"{name} ends the {where} successfully."
    elif kind == "Fail":
        error = state.get("Error") or state.get("ErrorPath") or "an error"
        return f"{name} fails the {where} with {error}."
    else:
        what = f"{name} is a {kind} state"
    parts = [what]
    for retrier in state.get("Retry", []):
        parts.append(f"it retries {', '.join(retrier.get('ErrorEquals', []))}"
                     + (f" up to {retrier['MaxAttempts']} times" if "MaxAttempts" in retrier else ""))
    then = _then(state, where)
    if then:
        parts.append(then)
    for catcher in state.get("Catch", []):
        parts.append(f"on {', '.join(catcher.get('ErrorEquals', []))} it goes to {catcher['Next']}")
    return "; ".join(parts) + "."


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

_NODE_LOOK: dict[str, dict[str, str]] = {
    "start": {"shape": "ellipse", "style": "filled", "fillcolor": "#e9ecef", "color": "#545b64"},
    "end": {"shape": "ellipse", "style": "filled", "fillcolor": "#e9ecef", "color": "#545b64"},
    "task": {"shape": "box", "style": "rounded,filled", "fillcolor": "#ffffff", "color": "#2b6cb0", "penwidth": "1.5"},
    "pass": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7f7f7", "color": "#8a8f98"},
    "wait": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f7f7f7", "color": "#8a8f98"},
    "choice": {"shape": "diamond", "style": "filled", "fillcolor": "#fff8e1", "color": "#b7791f"},
    "succeed": {"shape": "box", "style": "rounded,filled", "fillcolor": "#f0fff4", "color": "#2f855a", "penwidth": "1.5"},
    "fail": {"shape": "box", "style": "rounded,filled", "fillcolor": "#fff5f5", "color": "#c53030", "penwidth": "1.5"},
    "parallel": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffffff", "color": "#545b64"},
    "map": {"shape": "box", "style": "rounded,filled,bold", "fillcolor": "#ffffff", "color": "#545b64"},
    "join": {"shape": "point", "width": "0.12", "color": "#545b64"},
}
_EDGE_LOOK: dict[str, dict[str, str]] = {
    "catch": {"style": "dashed", "color": "#c53030", "fontcolor": "#c53030"},
    "default": {"style": "solid"},
    "branch": {"style": "solid", "arrowsize": "0.7"},
}


def _dot_id(node_id: str) -> str:
    return "n_" + re.sub(r"[^A-Za-z0-9_]", lambda m: f"_{ord(m.group()):x}_", node_id)


def to_dot(definition: str | Mapping[str, Any], *, direction: str = "TB") -> str:
    """The Graphviz source of the drawing (what :func:`draw_state_machine` renders)."""
    return _digraph(state_graph(definition), direction).source


def _digraph(graph: StateGraph, direction: str) -> Any:
    from graphviz import Digraph

    dot = Digraph(
        graph_attr={**GRAPH_STYLE, "rankdir": direction, "splines": "true", "nodesep": "0.5", "ranksep": "0.5"},
        node_attr={**NODE_STYLE, "margin": "0.18,0.06"},
        edge_attr=EDGE_STYLE,
    )

    def add_node(target: Any, node: Node) -> None:
        target.node(_dot_id(node.id), node.label, **_NODE_LOOK.get(node.kind, {}))

    def add_cluster(target: Any, cluster: Cluster) -> None:
        style = {**CLUSTER_STYLE, "label": cluster.label, "style": "rounded" + (",dashed" if cluster.kind != "parallel" else "")}
        if cluster.kind == "branch":
            style["bgcolor"] = "#ffffff"
        with target.subgraph(name="cluster_" + _dot_id(cluster.id)[2:], graph_attr=style) as sub:
            for node_id in cluster.nodes:
                add_node(sub, graph.nodes[node_id])
            for child in graph.clusters.values():
                if child.parent == cluster.id:
                    add_cluster(sub, child)

    clustered = {n for c in graph.clusters.values() for n in c.nodes}
    for node in graph.nodes.values():
        if node.id not in clustered:
            add_node(dot, node)
    for cluster in graph.clusters.values():
        if cluster.parent is None:
            add_cluster(dot, cluster)
    for edge in graph.edges:
        if edge.source not in graph.nodes or edge.target not in graph.nodes:
            continue  # a Next that names no state: the ASL is invalid, drawn without that arrow
        dot.edge(_dot_id(edge.source), _dot_id(edge.target), label=edge.label, **_EDGE_LOOK.get(edge.kind, {}))
    return dot


def draw_state_machine(
    definition: str | Mapping[str, Any],
    title: str = "State machine",
    alt: str | None = None,
    *,
    direction: str = "TB",
    require_graphviz: bool | None = None,
) -> Figure:
    """Draw a state machine from its ASL, as the Step Functions console does.

    Args:
        definition: the ASL, as a JSON string (what ``describe_state_machine``
            returns) or a dict.
        title: the figure's caption.
        alt: what the drawing shows; by default written from the ASL
            (:func:`describe_state_machine`).
        direction: ``"TB"`` (top to bottom, like the console) or ``"LR"``.
        require_graphviz: raise :class:`~labkit.diagrams.GraphvizMissing`
            instead of returning a placeholder when Graphviz is missing. Defaults
            to the ``LABKIT_REQUIRE_GRAPHVIZ`` environment variable.

    Returns:
        A :class:`~labkit.diagrams.Figure` (PNG and alt text).
    """
    graph = state_graph(definition)
    text = alt if alt is not None and alt.strip() else "A state machine. " + describe_state_machine(definition)
    placeholder = placeholder_if_no_graphviz(title, text, require_graphviz)
    if placeholder is not None:
        return placeholder
    png = _digraph(graph, direction).pipe(format="png")
    return Figure(title, text, png)
