"""Wrong answers to the DynamoDB lab."""

from tests.chapters.wrong_answers import Wrong

# Exercise 1's answer cell defines five functions; each wrong answer gives all of them.
LOANS_TABLE = '''
def create_loans_table(name: str) -> str:
    return create_table_once(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "member", "AttributeType": "S"},
            {"AttributeName": "borrowed", "AttributeType": "S"},
            {"AttributeName": "book", "AttributeType": "S"},
            {"AttributeName": "due", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "member", "KeyType": "HASH"}, {"AttributeName": "borrowed", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "by-book",
            "KeySchema": [{"AttributeName": "book", "KeyType": "HASH"}, {"AttributeName": "borrowed", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        LocalSecondaryIndexes=[{
            "IndexName": "by-due",
            "KeySchema": [{"AttributeName": "member", "KeyType": "HASH"}, {"AttributeName": "due", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
        BillingMode="PAY_PER_REQUEST",
    )


def save_loan(table: str, loan: dict) -> None:
    ddb.put_item(TableName=table, Item={k: {"S": v} for k, v in loan.items()})


def _query_all(**request) -> list[str]:
    ids = []
    for page in ddb.get_paginator("query").paginate(**request):
        ids += [item["loan_id"]["S"] for item in page["Items"]]
    return ids
'''

PATTERNS = '''
def loans_of_member(table: str, member: str) -> list[str]:
    return QUERY(TableName=table, KeyConditionExpression="#m = :m", ExpressionAttributeNames={"#m": "member"},
                 ExpressionAttributeValues={":m": {"S": member}}, ScanIndexForward=False)


def loans_of_book(table: str, book: str) -> list[str]:
    return QUERY(TableName=table, IndexName="by-book", KeyConditionExpression="book = :b",
                 ExpressionAttributeValues={":b": {"S": book}})


def loans_due_before(table: str, member: str, day: str) -> list[str]:
    return QUERY(TableName=table, IndexName="by-due",
                 KeyConditionExpression="#m = :m AND due < :d", ExpressionAttributeNames={"#m": "member"},
                 ExpressionAttributeValues={":m": {"S": member}, ":d": {"S": day}})
'''

ONE_PAGE = '''

def _first_page(**request) -> list[str]:
    return [item["loan_id"]["S"] for item in ddb.query(**request)["Items"]]
'''

WRONG = [
    Wrong("design", "the borrowed date alone as sort key: a member's two loans of one day share a key",
          source=LOANS_TABLE + PATTERNS.replace("QUERY", "_query_all"),
          loses=("none overwritten",), hidden_too=True),
    Wrong("design", "a unique key, but each pattern reads only the first page",
          source=LOANS_TABLE.replace('"AttributeName": "borrowed"', '"AttributeName": "sk"')
          .replace('{"S": v} for k, v in loan.items()}',
                   '{"S": v} for k, v in loan.items()} | {"sk": {"S": loan["borrowed"] + "#" + loan["loan_id"]}}')
          + ONE_PAGE + PATTERNS.replace("QUERY", "_first_page"),
          loses=(), hidden_too=True),
    Wrong("lostupdate", "a conditional write that gives up when the condition fails",
          source='''
def add_points(table: str, member: str, amount: int, between=lambda: None) -> None:
    item = ddb.get_item(TableName=table, Key={"member": {"S": member}}, ConsistentRead=True)["Item"]
    total, version = int(item["points"]["N"]), int(item["version"]["N"])
    between()
    try:
        ddb.update_item(
            TableName=table, Key={"member": {"S": member}},
            UpdateExpression="SET points = :total, version = :next", ConditionExpression="version = :seen",
            ExpressionAttributeValues={":total": {"N": str(total + amount)}, ":next": {"N": str(version + 1)},
                                       ":seen": {"N": str(version)}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
''', loses=("nothing is lost",), hidden_too=True),
    Wrong("capacity", "on-demand for every profile",
          source='''
import math


def choose_capacity(table: str, profile: dict) -> None:
    ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
''', loses=("steady",)),
    Wrong("capacity", "provisioned capacity counted in writes per second, not in write units of the item's size",
          source='''
import math


def choose_capacity(table: str, profile: dict) -> None:
    rates = profile["writes_per_second"]
    on_demand_cost = sum(rates) * profile["price_per_write_unit"]
    wcu = max(1, max(rates))
    provisioned_cost = wcu * len(rates) / 3600 * profile["price_per_wcu_hour"]
    if on_demand_cost <= provisioned_cost:
        ddb.update_table(TableName=table, BillingMode="PAY_PER_REQUEST")
    else:
        ddb.update_table(TableName=table, BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": wcu})
''', loses=(), hidden_too=True),
]
