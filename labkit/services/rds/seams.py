"""The moto internals the RDS service patches or calls: none.

Everything the SQL plane needs it learns through boto3 calls (``describe``
calls of its own, marked internal) and the hook dispatcher's ``after`` events.
The tuple stays, so that every service package has the same furniture.
"""

from __future__ import annotations

from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = ()
