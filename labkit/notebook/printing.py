"""Pretty printing of boto3 responses, without the noise."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any


def tidy(response: Any) -> Any:
    """Drop boto3's ``ResponseMetadata`` (recursively) so the answer is what you see."""
    if isinstance(response, dict):
        return {k: tidy(v) for k, v in response.items() if k != "ResponseMetadata"}
    if isinstance(response, list):
        return [tidy(v) for v in response]
    return response


def show(response: Any) -> None:
    """Print a boto3 response as indented JSON, minus ``ResponseMetadata``."""
    print(json.dumps(tidy(response), indent=2, default=_default, sort_keys=False))


def _default(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    return repr(value)
