"""Wrong answers to the SQS lab."""

from tests.chapters.wrong_answers import Wrong

WRONG = [
    Wrong("redrive", "the receive count fixed at 3 instead of the argument",
          source='''
def attach_dead_letter_queue(queue_url: str, dlq_arn: str, max_receives: int) -> None:
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"RedrivePolicy": json.dumps(policy)})
''', loses=("received 2 times",), hidden_too=True),
    Wrong("visibility", "a fixed 10 s visibility timeout, which fits the visible work time",
          source='''
def fix_for_slow_workers(queue_url: str, work_seconds: float) -> None:
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "10"})
''', loses=(), hidden_too=True),
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
