"""A state machine's ASL as data and as words: the graph the console draws, and its alt text.

AWS Step Functions runs a *state machine* written in the Amazon States
Language (ASL, a JSON document). The console draws it as a graph: tasks,
choices, parallel branches, map iterators, error paths. There is no console
here, so this module reads the ASL itself:

* :func:`state_graph` returns the graph as data (nodes, edges, clusters):
  Choice rules on their edges, Catch paths labelled with their errors, Retry
  noted on the state, Parallel branches and Map iterators as boxes. It is what
  :func:`labkit.notebook.statemachines.draw_state_machine` draws, and what the
  tests inspect.
* :func:`describe_state_machine` writes the same machine in sentences (the
  alt text of the drawing).
* :func:`describe_resource`, :func:`describe_condition` and
  :func:`describe_retry` name a Task's resource, a Choice rule and a Retrier.

Nothing here draws or imports moto: the notebook layer draws, and the model
is plain Python.

Limits: it covers the ASL the course uses (JSONPath and JSONata states,
inline and distributed Map, nested Parallel). It does not read the inside of
a Distributed Map's item reader or result writer, and it names a task by its
service and action (``DynamoDB PutItem``), not by every parameter.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Cluster",
    "Edge",
    "Node",
    "StateGraph",
    "describe_condition",
    "describe_resource",
    "describe_retry",
    "describe_state_machine",
    "state_graph",
]


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
    """A state machine as nodes, edges and clusters (what
    :func:`labkit.notebook.statemachines.draw_state_machine` draws)."""

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
