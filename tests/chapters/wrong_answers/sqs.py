"""Wrong answers to the SQS lab."""

from tests.chapters.wrong_answers import Wrong

REDRIVE = '''

def redrive(dlq_url: str) -> int:
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.start_message_move_task(SourceArn=dlq_arn)
    return sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"][0]["ApproximateNumberOfMessagesMoved"]
'''

EXACT_PARSER = '''
def invoice_cents(order: dict) -> int:
    from decimal import ROUND_HALF_UP, Decimal

    return int((Decimal(str(order["amount"])) * 100).to_integral_value(rounding=ROUND_HALF_UP))
'''

WRONG = [
    Wrong("idempotent", "keyed on the SQS MessageId: a producer's retry is a new message",
          source='''
def handle_payment(message: dict, table: str) -> None:
    order = json.loads(message["Body"])
    try:
        ddb.put_item(TableName=table, Item={"order_id": {"S": message["MessageId"]}},
                     ConditionExpression="attribute_not_exists(order_id)")
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return
        raise
    try:
        provider.charge(order["order_id"], order["amount"])
    except Exception:
        ddb.delete_item(TableName=table, Key={"order_id": {"S": message["MessageId"]}})
        raise
''', loses=("the producer's retry", "another machine's worker"), hidden_too=True),
    Wrong("idempotent", "look, charge, then write: two workers both look before either writes",
          source='''
def handle_payment(message: dict, table: str) -> None:
    order = json.loads(message["Body"])
    key = {"order_id": {"S": order["order_id"]}}
    if "Item" in ddb.get_item(TableName=table, Key=key):
        return
    provider.charge(order["order_id"], order["amount"])
    ddb.put_item(TableName=table, Item=key)
''', loses=("two workers",), hidden_too=True),
    Wrong("redrive", "copied back by hand, never deleted from the DLQ",
          source=EXACT_PARSER + '''

def redrive(dlq_url: str) -> int:
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"][0]
    moved = 0
    while batch := sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10).get("Messages", []):
        for m in batch:
            sqs.send_message(QueueUrl=source, MessageBody=m["Body"])
            moved += 1
    return moved
''', loses=("the dead-letter queue is empty", "a message move task"), hidden_too=True),
    Wrong("redrive", "amounts read as floats and truncated to cents",
          source='''
def invoice_cents(order: dict) -> int:
    return int(float(order["amount"]) * 100)
''' + REDRIVE, loses=("to the cent", "with the right amount"), hidden_too=True),
    Wrong("orders", "a standard queue without group or deduplication ids",
          source='''
def create_order_queue(name: str) -> str:
    return sqs.create_queue(QueueName=name)["QueueUrl"]


def send_order(queue_url: str, order: dict) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(order))
''', loses=("its type", "in the order placed", "processed once")),
    Wrong("orders", "a FIFO queue with one group for every customer",
          source='''
def create_order_queue(name: str) -> str:
    return sqs.create_queue(QueueName=f"{name}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]


def send_order(queue_url: str, order: dict) -> None:
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(order),
                     MessageGroupId="orders", MessageDeduplicationId=order["order_id"])
''', loses=("not blocked",)),
]
