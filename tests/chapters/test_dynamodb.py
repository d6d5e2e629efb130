"""The DynamoDB behaviours the chapter teaches, as the local emulation shows them."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ddb(aws):
    return aws["dynamodb"]


@pytest.fixture
def table(ddb):
    ddb.create_table(
        TableName="accounts",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return "accounts"


def test_conditional_write_refuses_a_stale_version(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "acct"}, "version": {"N": "1"}})
    ddb.update_item(
        TableName=table, Key={"pk": {"S": "acct"}}, UpdateExpression="SET version = :new",
        ConditionExpression="version = :seen", ExpressionAttributeValues={":new": {"N": "2"}, ":seen": {"N": "1"}},
    )
    with pytest.raises(ClientError) as stale:
        ddb.update_item(
            TableName=table, Key={"pk": {"S": "acct"}}, UpdateExpression="SET version = :new",
            ConditionExpression="version = :seen", ExpressionAttributeValues={":new": {"N": "2"}, ":seen": {"N": "1"}},
        )
    assert stale.value.response["Error"]["Code"] == "ConditionalCheckFailedException"


def test_transaction_cancellation_reasons_name_the_failed_item(ddb, table):
    ddb.put_item(TableName=table, Item={"pk": {"S": "from"}, "balance": {"N": "5"}})
    ddb.put_item(TableName=table, Item={"pk": {"S": "to"}, "balance": {"N": "0"}})
    with pytest.raises(ClientError) as cancelled:
        ddb.transact_write_items(TransactItems=[
            {"Update": {"TableName": table, "Key": {"pk": {"S": "to"}}, "UpdateExpression": "ADD balance :a",
                        "ExpressionAttributeValues": {":a": {"N": "10"}}}},
            {"Update": {"TableName": table, "Key": {"pk": {"S": "from"}}, "UpdateExpression": "ADD balance :m",
                        "ConditionExpression": "balance >= :a",
                        "ExpressionAttributeValues": {":m": {"N": "-10"}, ":a": {"N": "10"}}}},
        ])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert codes == ["None", "ConditionalCheckFailed"]
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "to"}})["Item"]["balance"] == {"N": "0"}
