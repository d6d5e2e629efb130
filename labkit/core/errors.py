"""Errors every service shares.

:class:`NotEmulated` is how a service says "AWS does this, the sandbox does
not": real code that takes a path the emulation cannot follow stops with a
message naming the gap and what to do instead, never with a stack trace from
deep inside moto. Each service subclasses it (``labkit.services.rds.NotEmulated``)
so a test can tell whose gap it is; ``except labkit.NotEmulated`` catches them all.
"""

from __future__ import annotations


class NotEmulated(NotImplementedError):
    """A real AWS feature that the lab sandbox does not emulate."""
