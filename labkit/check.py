"""Exercise checks: feedback in the notebook, points for the grader.

A check cell in a lab looks like this::

    with labkit.exercise("redrive", "A poisoned message reaches the DLQ") as ex:
        ex.check("orders has a redrive policy",
                 lambda: redrive_target(queue_url),     # what we find
                 expected=dlq_arn,                       # what we want
                 points=1,
                 hint="Look at the RedrivePolicy attribute of the source queue.")

Each ``check`` runs its function, compares the result with ``expected`` and
records a :class:`CheckResult`. When the ``with`` block ends, the exercise
shows a short report: what passed, and for what failed, what was expected,
what was found, and the hint. The solution is never shown.

The same report is attached to the cell output as JSON (MIME type
:data:`RESULT_MIME`), which is how ``labkit grade`` reads scores.

A check whose function raises, or runs longer than ``timeout`` seconds, fails
with the error as what was "found"; it never stops the notebook.

Checks compare plain data. Before comparing, what a check's function returned is
rebuilt from exact built-in types (a ``str`` subclass becomes a ``str``, a
namedtuple a tuple), and an object whose class defines its own comparisons in
Python fails the check: such an object could claim to equal anything. This
applies whenever ``expected`` is plain data or an :class:`Expect`. An error
raised elsewhere in the ``with`` block ends the block: the report shows it, and
the checks that did not run earn nothing (the grader takes each exercise's
maximum from the source notebook, not from the submission). Set the
environment variable ``LABKIT_STRICT=1`` (the course's own tests do) to make a
failed check raise :class:`CheckFailed` instead.
"""

from __future__ import annotations

import html
import json
import os
import signal
import threading
import traceback
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

#: MIME type of the machine-readable result attached to a check cell's output.
RESULT_MIME = "application/vnd.labkit.check+json"
#: Default time a single check may take, in seconds.
DEFAULT_TIMEOUT = 10.0


class CheckFailed(AssertionError):
    """Raised at the end of an exercise block in strict mode when a check failed."""


class CheckTimeout(Exception):
    """A check's function ran longer than its time limit."""


@dataclass(frozen=True)
class Expect:
    """An expectation that is not simple equality.

    Build one with :func:`between`, :func:`one_of`, :func:`contains` or
    :func:`satisfies`; pass it as ``expected=``.
    """

    description: str
    test: Callable[[Any], bool]

    def matches(self, value: Any) -> bool:
        return bool(self.test(value))

    def __str__(self) -> str:
        return self.description


def between(low: float, high: float) -> Expect:
    """A number from ``low`` to ``high``, both included."""
    return Expect(
        f"a number from {low} to {high}",
        lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and low <= v <= high,
    )


def one_of(*values: Any) -> Expect:
    """Any of the given values."""
    return Expect("one of " + ", ".join(repr(v) for v in values), lambda v: v in values)


def contains(item: Any) -> Expect:
    """A container holding ``item``."""
    return Expect(f"something containing {item!r}", lambda v: item in v)


def satisfies(description: str, predicate: Callable[[Any], bool]) -> Expect:
    """Anything for which ``predicate`` is true; ``description`` says what in words."""
    return Expect(description, predicate)


@dataclass
class CheckResult:
    """The outcome of one check."""

    exercise: str
    name: str
    passed: bool
    points: float
    earned: float
    expected: str
    found: str
    hint: str = ""
    hidden: bool = False


@dataclass
class Exercise:
    """One graded exercise: a group of checks with points.

    Use it through :func:`exercise`, not directly.
    """

    id: str
    title: str = ""
    hidden: bool = False
    timeout: float = DEFAULT_TIMEOUT
    results: list[CheckResult] = field(default_factory=list)

    def check(
        self,
        name: str,
        actual: Callable[[], Any],
        expected: Any = True,
        *,
        points: float = 1,
        hint: str = "",
    ) -> CheckResult:
        """Run one check and record its result.

        Args:
            name: the requirement, in words the learner understands. Shown for
                hidden checks too, so it must not give the answer away.
            actual: a function with no arguments that returns what we find.
            expected: the value it must equal, or an :class:`Expect`.
            points: what the check is worth.
            hint: shown when the check fails.
        """
        try:
            value = _run_with_timeout(actual, self.timeout)
            if isinstance(expected, Expect) or _is_plain(expected):
                value = _plain(value)
            ok = expected.matches(value) if isinstance(expected, Expect) else value == expected
            found = _short(value)
            if not ok and value is None:
                found = "None: " + NOTHING_RETURNED
        except _NotPlain as error:
            ok, found = False, str(error)
        except CheckTimeout:
            ok, found = False, f"no answer within {self.timeout:g} s (an endless loop, or a wait that never ends?)"
        except Exception as error:  # the learner's code may raise anything
            ok, found = False, f"an error: {_describe_error(error)}"
        result = CheckResult(
            exercise=self.id,
            name=name,
            passed=bool(ok),
            points=float(points),
            earned=float(points) if ok else 0.0,
            expected=str(expected) if isinstance(expected, Expect) else _short(expected),
            found=found,
            hint=hint,
            hidden=self.hidden,
        )
        self.results.append(result)
        return result

    @property
    def earned(self) -> float:
        return sum(r.earned for r in self.results)

    @property
    def possible(self) -> float:
        return sum(r.points for r in self.results)

    def report(self) -> Report:
        return Report(self)


@contextmanager
def exercise(id: str, title: str = "", *, hidden: bool = False, timeout: float = DEFAULT_TIMEOUT) -> Iterator[Exercise]:
    """Group checks into one exercise and show the report when the block ends.

    Args:
        id: a short, stable identifier, e.g. ``"redrive"``; the grader's column name.
        title: the exercise's title, shown in the report.
        hidden: the checks are for grading; the report names each requirement
            and whether it passed, and shows no expected or found values.
        timeout: seconds each check's function may run.
    """
    ex = Exercise(id=id, title=title, hidden=hidden, timeout=timeout)
    try:
        yield ex
    except Exception as error:  # code in the block (often the learner's) raised
        ex.results.append(
            CheckResult(
                exercise=id,
                name="the checks ran to the end",
                passed=False,
                points=0.0,
                earned=0.0,
                expected="no error",
                found=f"an error: {_describe_error(error)}",
                hint="An error stopped the checks; the checks after it did not run and earn nothing.",
                hidden=hidden,
            )
        )
    _display(ex.report())
    if os.environ.get("LABKIT_STRICT") == "1" and any(not r.passed for r in ex.results):
        failed = "; ".join(f"{r.name}: expected {r.expected}, found {r.found}" for r in ex.results if not r.passed)
        raise CheckFailed(f"exercise {id!r}: {failed}")


class Report:
    """Renders an exercise's results as text, HTML and JSON."""

    def __init__(self, ex: Exercise) -> None:
        self.ex = ex

    def _lines(self) -> list[tuple[bool, str, str]]:
        lines = []
        for r in self.ex.results:
            head = f"{r.name} ({r.earned:g}/{r.points:g})"
            if r.passed:
                detail = ""
            elif r.hidden:
                # The found value stays hidden, except the advice about a missing return:
                # it gives nothing of the answer away.
                advice = f" Your answer was None: {NOTHING_RETURNED}" if r.found.startswith("None: ") else ""
                detail = "not met." + advice + (f" Hint: {r.hint}" if r.hint else "")
            else:
                detail = f"expected {r.expected}; found {r.found}." + (f" Hint: {r.hint}" if r.hint else "")
            lines.append((r.passed, head, detail))
        return lines

    def summary(self) -> str:
        ex = self.ex
        label = ex.title or ex.id
        return f"{label}: {ex.earned:g}/{ex.possible:g} points"

    def __str__(self) -> str:
        out = [self.summary()]
        for ok, head, detail in self._lines():
            out.append(f"  {'PASS' if ok else 'FAIL'} {head}" + (f"\n       {detail}" if detail else ""))
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = []
        for ok, head, detail in self._lines():
            mark = "&#10004;" if ok else "&#10008;"
            colour = "#1a7f37" if ok else "#cf222e"
            rows.append(
                f'<li style="list-style:none"><span style="color:{colour};font-weight:bold">{mark}</span> '
                f"{html.escape(head)}" + (f"<br><small>{html.escape(detail)}</small>" if detail else "") + "</li>"
            )
        all_ok = all(ok for ok, _, _ in self._lines())
        border = "#1a7f37" if all_ok else "#cf222e"
        return (
            f'<div class="labkit-check" style="border-left:4px solid {border};padding:0.3em 0.8em">'
            f"<strong>{html.escape(self.summary())}</strong><ul style=\"padding-left:0.5em\">{''.join(rows)}</ul></div>"
        )

    def to_json(self) -> dict[str, Any]:
        ex = self.ex
        results = []
        for r in ex.results:
            d = asdict(r)
            if r.hidden:  # the grader needs only the requirement and the verdict
                d["expected"] = d["found"] = ""
            results.append(d)
        return {"exercise": ex.id, "title": ex.title, "earned": ex.earned, "possible": ex.possible, "checks": results}


def _display(report: Report) -> None:
    bundle = {"text/plain": str(report), "text/html": report._repr_html_(), RESULT_MIME: report.to_json()}
    try:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is not None:
            display(bundle, raw=True)
            return
    except ImportError:
        pass
    print(str(report))
    print(json.dumps({RESULT_MIME: report.to_json()}))


class _NotPlain(TypeError):
    """A check's function returned an object that defines its own comparisons."""


#: Exact built-in types compared by CPython's own code, and how to copy an
#: instance of a subclass into the built-in type without calling its methods.
_SCALARS: dict[type, Callable[[Any], Any]] = {
    int: int.__int__,
    float: float.__float__,
    complex: complex.__complex__,
    str: str.__str__,
    bytes: bytes.__bytes__,
}
#: Methods through which an object answers comparisons with values it has never
#: seen: ``==``, ``<``, ``in``, attribute look-ups, ``isinstance`` via ``__class__``.
_COMPARISON_HOOKS = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__",
                     "__getattr__", "__getattribute__", "__class__")
_C_LEVEL = (type(None), types.WrapperDescriptorType, types.MethodDescriptorType)
_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class created at run time, e.g. by a class statement


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` rebuilt from exact built-in types, so comparing it runs no learner code.

    Raises:
        _NotPlain: an object whose class defines comparison methods in Python.
    """
    kind = type(value)
    if value is None or kind is bool or kind in _SCALARS:
        return value
    if depth > 100:
        raise _NotPlain("a value nested more than 100 levels deep")
    # issubclass on the real type: isinstance() would believe a forged __class__.
    for base, copy in _SCALARS.items():
        if issubclass(kind, base):
            return copy(value)
    if issubclass(kind, dict):
        return {_plain(k, depth + 1): _plain(v, depth + 1) for k, v in dict.items(value)}
    for container in (list, tuple, set, frozenset):
        if issubclass(kind, container):
            return container(_plain(v, depth + 1) for v in container.__iter__(value))
    for klass in kind.__mro__:
        if klass.__flags__ & _HEAPTYPE:
            for name in _COMPARISON_HOOKS:
                if name in vars(klass) and not isinstance(vars(klass)[name], _C_LEVEL):
                    raise _NotPlain(
                        f"a {kind.__name__} object, which defines its own {name}; "
                        "checks compare plain values (str, numbers, lists, dicts)"
                    )
    return value


def _is_plain(value: Any) -> bool:
    try:
        _plain(value)
    except _NotPlain:
        return False
    return True


def _short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: What a learner reads when their answer was ``None``: the usual cause is a missing ``return``.
NOTHING_RETURNED = ("nothing was returned. If this comes from a function you wrote, "
                    "check that it ends with `return ...` (a function without one gives None).")


def _describe_error(error: BaseException) -> str:
    code = getattr(error, "response", {}).get("Error", {}).get("Code") if hasattr(error, "response") else None
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    message = " ".join(str(error).split())  # botocore's messages span lines
    text = f"{type(error).__name__}" + (f" ({code})" if code else "") + f": {message}"
    if where is not None and where.name != "<lambda>" and "site-packages" not in where.filename:
        text += f" (in {where.name}, line {where.lineno})"  # only where the learner's code is
    text = _short(text, 300).strip("'\"")
    about_none = (isinstance(error, (TypeError, AttributeError)) and "NoneType" in message) or (
        type(error).__name__ == "ParamValidationError" and "value: None" in message)
    if about_none:
        text += ". Something was None where a value was expected: " + NOTHING_RETURNED
    return text


def _run_with_timeout(fn: Callable[[], Any], seconds: float) -> Any:
    """Run ``fn``; raise :class:`CheckTimeout` after ``seconds``.

    Uses SIGALRM in the main thread on Unix. Elsewhere the function runs without a limit
    (the grader still enforces its own per-cell timeout).
    """
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        return fn()

    def on_alarm(signum: int, frame: Any) -> None:
        raise CheckTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
