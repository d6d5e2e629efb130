"""Time to live: DynamoDB's background deletion of expired items, run on demand.

On AWS, once TTL is enabled on a table, a background process deletes items
whose TTL attribute (a Number holding epoch seconds) is in the past, typically
within a few days of expiry; until then they still show up in reads. moto
stores the TTL setting and never deletes anything.

:func:`sweep_expired` is that background process, run once when a lab calls
it. "Now" is the sandbox clock (:mod:`labkit.core.clock`), so after
``lab.clock.advance(3600)`` the items that expire within the hour are swept
too. Nothing runs on a timer.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from labkit.core.aws import default_region, internal_client
from labkit.core.clock import clock


def sweep_expired(table_name: str, *, now: float | None = None,
                  region_name: str | None = None) -> list[dict[str, Any]]:
    """Do what DynamoDB's TTL background process does, once, now.

    Reads the table's TTL setting with ``DescribeTimeToLive``. If TTL is
    enabled, scans the table (every page) and deletes each item whose TTL
    attribute is a Number of epoch seconds earlier than ``now`` (default: the
    sandbox clock's now, ``lab.clock.now()``). Items without the attribute, or
    with a non-Number value, are left alone, as on AWS. Each delete carries a
    condition that the item is still expired, so an item renewed in the
    meantime survives.

    labkit's own calls here are internal: a simulated throttle never refuses them.

    Returns:
        The keys of the deleted items (wire format), in scan order. Empty when
        TTL is not enabled on the table.
    """
    moment = clock.now() if now is None else now
    ddb = internal_client("dynamodb", region_name or default_region())
    ttl = ddb.describe_time_to_live(TableName=table_name)["TimeToLiveDescription"]
    if ttl.get("TimeToLiveStatus") != "ENABLED" or not ttl.get("AttributeName"):
        return []
    attribute = ttl["AttributeName"]
    key_names = [k["AttributeName"] for k in ddb.describe_table(TableName=table_name)["Table"]["KeySchema"]]
    deleted: list[dict[str, Any]] = []
    for page in ddb.get_paginator("scan").paginate(TableName=table_name):
        for item in page.get("Items", []):
            value = item.get(attribute, {})
            if "N" not in value or Decimal(value["N"]) >= Decimal(str(moment)):
                continue
            key = {name: item[name] for name in key_names}
            try:
                ddb.delete_item(
                    TableName=table_name,
                    Key=key,
                    ConditionExpression="#ttl < :now",
                    ExpressionAttributeNames={"#ttl": attribute},
                    ExpressionAttributeValues={":now": {"N": str(moment)}},
                )
                deleted.append(key)
            except ddb.exceptions.ConditionalCheckFailedException:
                pass  # renewed since the scan read it
    return deleted
