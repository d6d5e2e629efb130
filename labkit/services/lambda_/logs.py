"""Where a handler's ``print`` and ``logging`` output goes: one invocation's log.

On AWS the runtime captures the function's stdout and stderr, one log event
per line, and installs a root-logger handler that writes
``[LEVEL]\\t<UTC time>\\t<request id>\\t<message>``. Here the handler runs in a
thread of the notebook's process, so from the first invocation on
``sys.stdout`` and ``sys.stderr`` are a :class:`RoutedStream`: a handler
thread's writes go to its invocation's :class:`LogSink`, every other thread's
to the notebook as usual.

Log events are stamped with real time, not the sandbox clock: moto's
CloudWatch Logs stores them, and it refuses events more than two hours ahead
of the real time, so a learner who advanced ``lab.clock`` would lose them.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from typing import Any


def wall_ms() -> int:
    """Real time in epoch milliseconds, for log events (see the module docstring)."""
    return int(time.time() * 1000)


class LogSink:
    """Collects one invocation's log events as (epoch ms, message)."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.events: list[tuple[int, str]] = []
        self._partial = ""

    def line(self, message: str) -> None:
        self.events.append((wall_ms(), message))

    def write(self, text: str) -> None:
        """stdout/stderr: each completed line is one log event, as on AWS."""
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        for line in lines:
            self.line(line + "\n")

    def flush(self) -> None:
        if self._partial:
            self.line(self._partial)
            self._partial = ""

    def text(self) -> str:
        return "".join(m if m.endswith("\n") else m + "\n" for _, m in self.events)


class RoutedStream(io.TextIOBase):
    """``sys.stdout`` once a function has run: a handler thread's writes go to its
    invocation's log (``sinks``: thread id -> sink), every other thread's to
    the original stream."""

    def __init__(self, original: Any, sinks: dict[int, LogSink]) -> None:
        self._original = original
        self._sinks = sinks

    def write(self, text: str) -> int:
        sink = self._sinks.get(threading.get_ident())
        if sink is None:
            return self._original.write(text)  # type: ignore[no-any-return]
        sink.write(text)
        return len(text)

    def flush(self) -> None:
        if threading.get_ident() not in self._sinks:
            self._original.flush()

    def routes_to(self, sinks: dict[int, LogSink]) -> bool:
        return self._sinks is sinks

    def __getattr__(self, name: str) -> Any:
        # Only reached for names this class lacks. Looked up in __dict__, not as
        # self._original: on a copy not yet initialised, that would recurse forever.
        original = self.__dict__.get("_original")
        if original is None:
            raise AttributeError(name)
        return getattr(original, name)


class LambdaLogHandler(logging.Handler):
    """The root-logger handler the AWS Python runtime installs: one log event
    per record, ``[LEVEL]\\t<UTC time>\\t<request id>\\t<message>``."""

    def __init__(self, sinks: dict[int, LogSink]) -> None:
        super().__init__()
        self._sinks = sinks
        formatter = logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
            "%Y-%m-%dT%H:%M:%S",
        )
        formatter.converter = time.gmtime
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        sink = self._sinks.get(threading.get_ident())
        if sink is None:
            return
        record.aws_request_id = sink.request_id
        try:
            sink.line(self.format(record))
        except Exception:  # noqa: BLE001  (a broken log call must not break the invocation)
            self.handleError(record)


#: What the AWS Python runtime logs before an error during initialisation.
UNHANDLED_INIT_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, "
    "or can be applied automatically. To determine if the runtime has been updated, check the runtime "
    "version in the INIT_START log entry. If this error correlates with a change in the runtime version, "
    "you may be able to mitigate this error by temporarily rolling back to the previous runtime version. "
    "For more information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\n"
)


def error_log_line(document: dict[str, Any]) -> str:
    """The runtime's ``[ERROR]`` log event for an unhandled exception."""
    head = "[ERROR]"
    if document["errorType"]:
        head += " " + document["errorType"]
    if document["errorMessage"]:
        head += (":" if document["errorType"] else "") + " " + document["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in document["stackTrace"]:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines)
