"""PartiQL for DynamoDB: the statements of AWS's PartiQL examples, run on the emulated tables.

**What AWS does.** ``ExecuteStatement``, ``BatchExecuteStatement`` and
``ExecuteTransaction`` take PartiQL: ``INSERT INTO "t" VALUE {...}`` (one item;
an existing key is a ``DuplicateItemException``), ``SELECT ... FROM "t"[."index"]
WHERE ...``, ``UPDATE "t" SET ... / REMOVE ... WHERE <full key> [RETURNING ...]``
(one existing item: a missing one fails its condition) and ``DELETE FROM "t"
WHERE <full key>``, with ``?`` placeholders filled from ``Parameters`` in order.

**What moto does.** Its parser cannot take a ``?`` inside ``VALUE {...}`` (a raw
TypeError), compares numbers as text (``WHERE year=2026`` finds nothing),
accepts a duplicate key, and fails ``UPDATE`` and ``DELETE`` with
AssertionError.

**What labkit does.** A ``before`` subscriber answers those three calls: this
module parses the statement (:func:`parse`) and runs it as the DynamoDB
operations it stands for (``PutItem`` with ``attribute_not_exists``, ``Scan``
with a filter, ``UpdateItem``/``DeleteItem`` with the ``WHERE`` as their
condition, ``TransactWriteItems``/``TransactGetItems``), through labkit's own
client: the item semantics and errors are moto's DynamoDB ones, which the
course already relies on.

**Limits.** The statements above with comparisons, ``AND``/``OR``/``NOT``,
``BETWEEN``, ``IN``, ``IS [NOT] MISSING``, ``begins_with``, ``contains``,
``attribute_exists``/``attribute_not_exists``; ``SET`` with a value, ``path + n``,
``path - n``, ``list_append``, ``set_add``, ``set_delete``; ``RETURNING ALL OLD *``
and ``ALL NEW *``. A ``SELECT`` reads the whole table (a ``Scan``; on AWS a key
condition makes it a ``Query``), so ``Limit`` counts items returned, not read.
Anything else raises :class:`NotEmulated` naming what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from labkit.core import errors

Value = dict[str, Any]  # an AttributeValue: {"S": "x"}, {"N": "3"}, ...
_AV_KEYS = {"S", "N", "B", "SS", "NS", "BS", "M", "L", "NULL", "BOOL"}


class NotEmulated(errors.NotEmulated):
    """PartiQL that AWS accepts but labkit's DynamoDB emulation does not run."""


class StatementError(ValueError):
    """A statement AWS would refuse as not well formed (``ValidationException``)."""


# ---------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<ident>"(?:[^"]|"")*")
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<op><<|>>|<>|!=|<=|>=|[=<>{}\[\](),.:?*+-])
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


@dataclass
class Tok:
    kind: str
    text: str


def tokenize(statement: str) -> list[Tok]:
    tokens, pos = [], 0
    while pos < len(statement):
        match = _TOKEN.match(statement, pos)
        if match is None:
            raise StatementError(f"Statement wasn't well formed, can't be processed: unexpected {statement[pos]!r}")
        pos = match.end()
        kind = match.lastgroup or ""
        if kind != "ws":
            tokens.append(Tok(kind, match.group()))
    return tokens


# ---------------------------------------------------------------- the parsed statement


@dataclass
class Statement:
    verb: str  # INSERT | SELECT | UPDATE | DELETE
    table: str
    index: str | None = None
    item: Value | None = None  # INSERT: the item as an M value
    projection: list[list[Any]] | None = None  # SELECT: paths (None: *)
    where: Any = None  # condition tree
    actions: list[tuple[str, list[Any], Any]] = field(default_factory=list)  # UPDATE: (kind, path, value)
    returning: str | None = None  # ALL_OLD | ALL_NEW | UPDATED_OLD | UPDATED_NEW


class _Parser:
    def __init__(self, statement: str, parameters: list[Any]) -> None:
        self.toks = tokenize(statement)
        self.i = 0
        self.params = list(parameters)
        self.used = 0

    # -- helpers
    def peek(self, k: int = 0) -> Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def word(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "word" and t.text.upper() in words

    def op(self, *ops: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "op" and t.text in ops

    def take(self) -> Tok:
        t = self.peek()
        if t is None:
            raise StatementError("Statement wasn't well formed, can't be processed: it ends too early")
        self.i += 1
        return t

    def expect_word(self, w: str) -> None:
        if not self.word(w):
            found = self.peek().text if self.peek() else "the end"
            raise StatementError(f"Statement wasn't well formed, can't be processed: expected {w}, found {found}")
        self.i += 1

    def expect_op(self, o: str) -> None:
        if not self.op(o):
            found = self.peek().text if self.peek() else "the end"
            raise StatementError(f"Statement wasn't well formed, can't be processed: expected {o!r}, found {found}")
        self.i += 1

    def name(self) -> str:
        t = self.take()
        if t.kind == "ident":
            return t.text[1:-1].replace('""', '"')
        if t.kind == "word":
            return t.text
        if t.kind == "string":
            return t.text[1:-1].replace("''", "'")
        raise StatementError(f"Statement wasn't well formed, can't be processed: {t.text!r} is not a name")

    # -- values
    def parameter(self) -> Value:
        if self.used >= len(self.params):
            raise StatementError("Number of parameters in request and statement don't match.")
        value = self.params[self.used]
        self.used += 1
        return value

    def value(self) -> Value:
        t = self.peek()
        if t is None:
            raise StatementError("Statement wasn't well formed, can't be processed: a value is missing")
        if self.op("?"):
            self.take()
            return self.parameter()
        if t.kind == "string":
            self.take()
            return {"S": t.text[1:-1].replace("''", "'")}
        if t.kind == "number" or (self.op("-") and self.peek(1) is not None and self.peek(1).kind == "number"):
            sign = "-" if self.op("-") else ""
            if sign:
                self.take()
            return {"N": sign + self.take().text}
        if self.word("TRUE", "FALSE"):
            return {"BOOL": self.take().text.upper() == "TRUE"}
        if self.word("NULL"):
            self.take()
            return {"NULL": True}
        if self.op("{"):
            self.take()
            fields: dict[str, Value] = {}
            while not self.op("}"):
                key = self.name()
                self.expect_op(":")
                fields[key] = self.value()
                if not self.op("}"):
                    self.expect_op(",")
            self.take()
            return {"M": fields}
        if self.op("["):
            self.take()
            items = []
            while not self.op("]"):
                items.append(self.value())
                if not self.op("]"):
                    self.expect_op(",")
            self.take()
            return {"L": items}
        if self.op("<<"):
            self.take()
            members = []
            while not self.op(">>"):
                members.append(self.value())
                if not self.op(">>"):
                    self.expect_op(",")
            self.take()
            kinds = {next(iter(m)) for m in members}
            if len(kinds) != 1 or not kinds <= {"S", "N", "B"}:
                raise StatementError("A set holds strings, numbers or binaries, all of one kind, and is not empty.")
            kind = kinds.pop()
            return {kind + "S": [m[kind] for m in members]}
        raise StatementError(f"Statement wasn't well formed, can't be processed: unexpected {t.text!r}")

    def path(self) -> list[Any]:
        parts: list[Any] = [self.name()]
        while self.op(".", "["):
            if self.take().text == ".":
                parts.append(self.name())
            else:
                parts.append(int(self.take().text))
                self.expect_op("]")
        return parts

    def operand(self) -> tuple[str, Any]:
        t = self.peek()
        if t is not None and (t.kind in ("ident",) or (t.kind == "word" and not self.word("TRUE", "FALSE", "NULL"))):
            return ("path", self.path())
        return ("value", self.value())

    # -- conditions
    def condition(self) -> Any:
        left = self.conjunction()
        while self.word("OR"):
            self.take()
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Any:
        left = self.negation()
        while self.word("AND"):
            self.take()
            left = ("and", left, self.negation())
        return left

    def negation(self) -> Any:
        if self.word("NOT"):
            self.take()
            return ("not", self.negation())
        return self.predicate()

    _FUNCTIONS = ("BEGINS_WITH", "CONTAINS", "ATTRIBUTE_EXISTS", "ATTRIBUTE_NOT_EXISTS", "ATTRIBUTE_TYPE")

    def predicate(self) -> Any:
        if self.op("("):
            self.take()
            inner = self.condition()
            self.expect_op(")")
            return inner
        if self.word(*self._FUNCTIONS) and self.peek(1) is not None and self.peek(1).text == "(":
            fn = self.take().text.lower()
            self.take()
            args = [self.operand()]
            while self.op(","):
                self.take()
                args.append(self.operand())
            self.expect_op(")")
            return ("fn", fn, args)
        left = self.operand()
        if self.op("=", "<>", "!=", "<", "<=", ">", ">="):
            op = self.take().text
            return ("cmp", "<>" if op == "!=" else op, left, self.operand())
        if self.word("BETWEEN"):
            self.take()
            low = self.operand()
            self.expect_word("AND")
            return ("between", left, low, self.operand())
        if self.word("IN"):
            self.take()
            close = "]" if self.op("[") else ")"
            self.take()
            options = [self.operand()]
            while self.op(","):
                self.take()
                options.append(self.operand())
            self.expect_op(close)
            return ("in", left, options)
        if self.word("IS"):
            self.take()
            negated = self.word("NOT")
            if negated:
                self.take()
            self.expect_word("MISSING")
            return ("fn", "attribute_exists" if negated else "attribute_not_exists", [left])
        raise NotEmulated("labkit's PartiQL runs comparisons, BETWEEN, IN, IS [NOT] MISSING, begins_with, contains and "
                          "attribute_exists/attribute_not_exists in a WHERE clause; rewrite the condition with those.")

    # -- statements
    def table(self) -> tuple[str, str | None]:
        name = self.name()
        index = None
        if self.op("."):
            self.take()
            index = self.name()
        return name, index

    def statement(self) -> Statement:
        if self.word("INSERT"):
            self.take()
            self.expect_word("INTO")
            table, _ = self.table()
            self.expect_word("VALUE")
            item = self.value()
            if "M" not in item:
                raise StatementError("INSERT takes one item, written as a tuple {'key': value, ...}.")
            st = Statement("INSERT", table, item=item)
        elif self.word("SELECT"):
            self.take()
            projection = None
            if self.op("*"):
                self.take()
            else:
                projection = [self.path()]
                while self.op(","):
                    self.take()
                    projection.append(self.path())
            self.expect_word("FROM")
            table, index = self.table()
            st = Statement("SELECT", table, index=index, projection=projection)
            if self.word("WHERE"):
                self.take()
                st.where = self.condition()
        elif self.word("UPDATE"):
            self.take()
            table, _ = self.table()
            st = Statement("UPDATE", table)
            while self.word("SET", "REMOVE"):
                if self.take().text.upper() == "REMOVE":
                    st.actions.append(("remove", self.path(), None))
                    continue
                st.actions.append(self.assignment())
                while self.op(","):
                    self.take()
                    st.actions.append(self.assignment())
            if not st.actions:
                raise StatementError("UPDATE needs a SET or REMOVE clause.")
            self.expect_word("WHERE")
            st.where = self.condition()
        elif self.word("DELETE"):
            self.take()
            self.expect_word("FROM")
            table, _ = self.table()
            st = Statement("DELETE", table)
            self.expect_word("WHERE")
            st.where = self.condition()
        else:
            raise StatementError("Statement wasn't well formed, can't be processed: it must start with "
                                 "SELECT, INSERT, UPDATE or DELETE")
        if self.word("RETURNING"):
            self.take()
            which = self.take().text.upper()
            age = self.take().text.upper()
            self.expect_op("*")
            st.returning = {"ALL": "ALL_", "MODIFIED": "UPDATED_"}.get(which, "?") + age
            if st.returning not in ("ALL_OLD", "ALL_NEW", "UPDATED_OLD", "UPDATED_NEW"):
                raise StatementError("RETURNING takes ALL OLD *, ALL NEW *, MODIFIED OLD * or MODIFIED NEW *.")
        if self.peek() is not None:
            raise StatementError(f"Statement wasn't well formed, can't be processed: unexpected {self.peek().text!r}")
        if self.used != len(self.params):
            raise StatementError("Number of parameters in request and statement don't match.")
        return st

    def assignment(self) -> tuple[str, list[Any], Any]:
        target = self.path()
        self.expect_op("=")
        fn = self.peek().text.upper() if self.peek() else ""
        if fn in ("LIST_APPEND", "SET_ADD", "SET_DELETE") and self.peek(1) is not None and self.peek(1).text == "(":
            self.take()
            self.take()
            first = self.operand()
            self.expect_op(",")
            second = self.operand()
            self.expect_op(")")
            return (fn.lower(), target, (first, second))
        first = self.operand()
        if self.op("+", "-"):
            sign = self.take().text
            return ("arith", target, (first, sign, self.operand()))
        return ("set", target, first)


def _as_attribute_value(value: Any) -> Value:
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _AV_KEYS:
        return value
    if isinstance(value, float):
        value = Decimal(str(value))
    return TypeSerializer().serialize(value)


def parse(statement: str, parameters: list[Any] | None = None) -> Statement:
    """The statement, with its ``?`` placeholders bound to ``parameters`` (AttributeValues or Python values)."""
    return _Parser(statement, [_as_attribute_value(p) for p in parameters or []]).statement()
