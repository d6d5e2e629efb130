"""The moto internals the DynamoDB service patches or calls: none.

moto answers every DynamoDB call the course makes; what it stores without
acting on (TTL, provisioned capacity) labkit adds through boto3 calls and the
hook dispatcher only. The tuple stays, so that every service package has the
same furniture and a future seam has its place.
"""

from __future__ import annotations

from labkit.core.seams import Seam

SEAMS: tuple[Seam, ...] = ()
