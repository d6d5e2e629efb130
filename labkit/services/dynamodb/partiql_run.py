"""PartiQL statements (:mod:`.partiql`) run as the DynamoDB operations they stand for.

:func:`subscribe` installs ``before`` subscribers that answer the learner's
``ExecuteStatement``, ``BatchExecuteStatement`` and ``ExecuteTransaction``;
each statement becomes one ``PutItem``, ``Scan``, ``UpdateItem`` or
``DeleteItem`` (or one part of ``TransactWriteItems``/``TransactGetItems``)
made with labkit's own client, whose errors come back as AWS's PartiQL errors.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from labkit.core import hooks
from labkit.core.aws import internal_client
from labkit.services.dynamodb.partiql import Statement, StatementError, parse

Answer = tuple[int, dict[str, Any]]


class _Expr:
    """Names and values of one DynamoDB expression being written."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def path(self, parts: list[Any]) -> str:
        out = ""
        for part in parts:
            if isinstance(part, int):
                out += f"[{part}]"
                continue
            key = next((k for k, v in self.names.items() if v == part), None)
            if key is None:
                key = f"#n{len(self.names)}"
                self.names[key] = part
            out += ("." if out else "") + key
        return out

    def value(self, value: Any) -> str:
        key = f":v{len(self.values)}"
        self.values[key] = value
        return key

    def operand(self, operand: tuple[str, Any]) -> str:
        kind, content = operand
        return self.path(content) if kind == "path" else self.value(content)

    def condition(self, node: Any) -> str:
        kind = node[0]
        if kind in ("and", "or"):
            return f"({self.condition(node[1])} {kind.upper()} {self.condition(node[2])})"
        if kind == "not":
            return f"(NOT {self.condition(node[1])})"
        if kind == "cmp":
            return f"{self.operand(node[2])} {node[1]} {self.operand(node[3])}"
        if kind == "between":
            return f"{self.operand(node[1])} BETWEEN {self.operand(node[2])} AND {self.operand(node[3])}"
        if kind == "in":
            return f"{self.operand(node[1])} IN ({', '.join(self.operand(o) for o in node[2])})"
        return f"{node[1]}({', '.join(self.operand(a) for a in node[2])})"

    def kwargs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.names:
            out["ExpressionAttributeNames"] = dict(self.names)
        if self.values:
            out["ExpressionAttributeValues"] = dict(self.values)
        return out


def _conjuncts(node: Any) -> list[Any]:
    if node is None:
        return []
    return _conjuncts(node[1]) + _conjuncts(node[2]) if node[0] == "and" else [node]


def _keys(client: Any, table: str) -> list[str]:
    schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
    return [k["AttributeName"] for k in sorted(schema, key=lambda k: k["KeyType"] != "HASH")]


def _split_key(st: Statement, keys: list[str]) -> tuple[dict[str, Any], list[Any]]:
    """The primary key the WHERE names with equalities, and the other conditions."""
    key: dict[str, Any] = {}
    rest = []
    for c in _conjuncts(st.where):
        if c[0] == "cmp" and c[1] == "=" and c[2][0] == "path" and len(c[2][1]) == 1 and c[2][1][0] in keys \
                and c[3][0] == "value" and c[2][1][0] not in key:
            key[c[2][1][0]] = c[3][1]
        else:
            rest.append(c)
    missing = [k for k in keys if k not in key]
    if missing:
        raise StatementError(f"Where clause does not contain a mandatory equality on all key attributes "
                             f"(missing: {', '.join(missing)}); {st.verb} changes one item, named by its full key.")
    return key, rest


def _and(parts: list[str]) -> str | None:
    return " AND ".join(f"({p})" for p in parts) if parts else None


def write_request(client: Any, st: Statement) -> tuple[str, dict[str, Any]]:
    """The DynamoDB write a PartiQL write stands for: ("Put"|"Update"|"Delete", its parameters)."""
    keys = _keys(client, st.table)
    expr = _Expr()
    if st.verb == "INSERT":
        item = st.item["M"] if st.item else {}
        missing = [k for k in keys if k not in item]
        if missing:
            raise StatementError(f"One or more parameter values were invalid: missing the key {missing[0]} in the item")
        return "Put", {"TableName": st.table, "Item": item,
                       "ConditionExpression": f"attribute_not_exists({expr.path([keys[0]])})", **expr.kwargs()}
    key, rest = _split_key(st, keys)
    conditions = [expr.condition(c) for c in rest]
    if st.verb == "DELETE":
        request = {"TableName": st.table, "Key": key, **({"ConditionExpression": _and(conditions)} if conditions else {})}
        return "Delete", {**request, **expr.kwargs()}
    sets, removes, adds, deletes = [], [], [], []
    for kind, path, value in st.actions:
        target = expr.path(path)
        if kind == "remove":
            removes.append(target)
        elif kind == "set":
            sets.append(f"{target} = {expr.operand(value)}")
        elif kind == "arith":
            sets.append(f"{target} = {expr.operand(value[0])} {value[1]} {expr.operand(value[2])}")
        elif kind == "list_append":
            sets.append(f"{target} = list_append({expr.operand(value[0])}, {expr.operand(value[1])})")
        else:  # set_add / set_delete: SET s = set_add(s, <<...>>)
            (adds if kind == "set_add" else deletes).append(f"{target} {expr.operand(value[1])}")
    update = " ".join(part for part in (
        "SET " + ", ".join(sets) if sets else "", "REMOVE " + ", ".join(removes) if removes else "",
        "ADD " + ", ".join(adds) if adds else "", "DELETE " + ", ".join(deletes) if deletes else "") if part)
    exists = f"attribute_exists({expr.path([keys[0]])})"
    return "Update", {"TableName": st.table, "Key": key, "UpdateExpression": update,
                      "ConditionExpression": _and([exists, *conditions]), **expr.kwargs()}


def _select(client: Any, st: Statement, limit: int | None, token: str | None) -> dict[str, Any]:
    expr = _Expr()
    kwargs: dict[str, Any] = {"TableName": st.table}
    if st.index:
        kwargs["IndexName"] = st.index
    if st.where is not None:
        kwargs["FilterExpression"] = expr.condition(st.where)
    if st.projection:
        kwargs["ProjectionExpression"] = ", ".join(expr.path(p) for p in st.projection)
    kwargs.update(expr.kwargs())
    items = [i for page in client.get_paginator("scan").paginate(**kwargs) for i in page["Items"]]
    keys = _keys(client, st.table)
    pk_equal = any(c[0] == "cmp" and c[1] == "=" and c[2] == ("path", [keys[0]]) for c in _conjuncts(st.where))
    if pk_equal and len(keys) > 1:  # a key condition makes it a Query: items in sort-key order
        def order(item: dict[str, Any]) -> Any:
            value = item.get(keys[1], {})
            return float(value["N"]) if "N" in value else str(next(iter(value.values()), ""))

        items.sort(key=order)
    start = int(token) if token and token.isdigit() else 0
    end = start + limit if limit else len(items)
    body: dict[str, Any] = {"Items": items[start:end]}
    if end < len(items):
        body["NextToken"] = str(end)
    return body


def _run(client: Any, st: Statement, limit: int | None = None, token: str | None = None) -> dict[str, Any]:
    if st.verb == "SELECT":
        return _select(client, st, limit, token)
    kind, request = write_request(client, st)
    try:
        if kind == "Put":
            client.put_item(**request)
            return {"Items": []}
        if kind == "Delete":
            answer = client.delete_item(**request, ReturnValues="ALL_OLD" if st.returning else "NONE")
        else:
            answer = client.update_item(**request, ReturnValues=st.returning or "NONE")
    except ClientError as error:
        if kind == "Put" and error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise _Refused("DuplicateItemException", "Duplicate primary key exists in table") from error
        raise
    return {"Items": [answer["Attributes"]] if st.returning and answer.get("Attributes") else []}


class _Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _error(error: Exception) -> tuple[str, str]:
    if isinstance(error, _Refused):
        return error.code, error.message
    if isinstance(error, ClientError):
        return error.response["Error"]["Code"], error.response["Error"].get("Message", "")
    return "ValidationException", str(error)


def execute_statement(call: hooks.Call) -> Answer:
    client = internal_client("dynamodb", call.region)
    p = call.params
    try:
        st = parse(p["Statement"], p.get("Parameters"))
        body = _run(client, st, p.get("Limit"), p.get("NextToken"))
    except (StatementError, _Refused, ClientError) as error:
        code, message = _error(error)
        return hooks.error_answer(code, message)
    return 200, {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


_BATCH_CODES = {"DuplicateItemException": "DuplicateItem", "ConditionalCheckFailedException": "ConditionalCheckFailed",
                "ValidationException": "ValidationError", "ResourceNotFoundException": "ResourceNotFound"}


def batch_execute_statement(call: hooks.Call) -> Answer:
    client = internal_client("dynamodb", call.region)
    statements = call.params.get("Statements") or []
    if len(statements) > 25:
        return hooks.error_answer("ValidationException", "A batch holds at most 25 statements.")
    responses = []
    for entry in statements:
        try:
            st = parse(entry["Statement"], entry.get("Parameters"))
            out: dict[str, Any] = {"TableName": st.table}
            items = _run(client, st)["Items"]
            if st.verb == "SELECT" and items:
                out["Item"] = items[0]
        except (StatementError, _Refused, ClientError) as error:
            code, message = _error(error)
            out = {"Error": {"Code": _BATCH_CODES.get(code, code.removesuffix("Exception")), "Message": message}}
        responses.append(out)
    return 200, {"Responses": responses, "ResponseMetadata": {"HTTPStatusCode": 200}}


def execute_transaction(call: hooks.Call) -> Answer:
    client = internal_client("dynamodb", call.region)
    try:
        statements = [parse(s["Statement"], s.get("Parameters")) for s in call.params.get("TransactStatements", [])]
        verbs = {st.verb == "SELECT" for st in statements}
        if len(verbs) > 1:
            raise StatementError("A transaction is all reads or all writes.")
        if verbs == {True}:
            gets = []
            for st in statements:
                key, _ = _split_key(st, _keys(client, st.table))
                gets.append({"Get": {"TableName": st.table, "Key": key}})
            answer = client.transact_get_items(TransactItems=gets)
            return 200, {"Responses": [{"Item": r["Item"]} if "Item" in r else {} for r in answer["Responses"]],
                         "ResponseMetadata": {"HTTPStatusCode": 200}}
        client.transact_write_items(TransactItems=[dict([write_request(client, st)]) for st in statements])
    except (StatementError, ClientError) as error:
        code, message = _error(error)
        status, body = hooks.error_answer(code, message)
        if isinstance(error, ClientError) and "CancellationReasons" in error.response:
            body["CancellationReasons"] = error.response["CancellationReasons"]
        return status, body
    return 200, {"Responses": [], "ResponseMetadata": {"HTTPStatusCode": 200}}


BEFORE = {"ExecuteStatement": execute_statement, "BatchExecuteStatement": batch_execute_statement,
          "ExecuteTransaction": execute_transaction}


def subscribe() -> None:
    for operation, fn in BEFORE.items():
        hooks.subscribe("before", "dynamodb", operation, fn, internal=False)
