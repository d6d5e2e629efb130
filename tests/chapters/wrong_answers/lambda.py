"""Wrong answers to the Lambda lab."""

from tests.chapters.wrong_answers import Wrong

HANDLER = '''
ORDER_HANDLER = """
import json
import os

import boto3

sqs = boto3.client("sqs")
DONE_URL = sqs.get_queue_url(QueueName=os.environ["DONE_QUEUE"])["QueueUrl"]


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            order = json.loads(record["body"])
            if not isinstance(order.get("qty"), int) or isinstance(order["qty"], bool) or order["qty"] <= 0:
                raise ValueError("bad quantity")
            sqs.send_message(QueueUrl=DONE_URL, MessageBody=order["order_id"])
        except (ValueError, KeyError, AttributeError):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
"""
'''

CHECKOUT = '''
def checkout(order: dict) -> dict:
    scored = lam.invoke(FunctionName=FRAUD_FUNCTION, Payload=json.dumps(order))
    body = json.loads(scored["Payload"].read())
    if scored.get("FunctionError"):
        raise RuntimeError(f"fraud scoring failed: {body}")
    lam.invoke(FunctionName=MAILER_FUNCTION, Payload=json.dumps(order))  # waits for the mailer; ignores its error
    return {"order_id": order["order_id"], "fraud_score": body["score"]}
'''

KEEP_FAILED = '''

def keep_failed_receipts(function_name: str, queue_arn: str) -> None:
    lam.put_function_event_invoke_config(FunctionName=function_name, MaximumRetryAttempts=2,
                                         DestinationConfig={"OnFailure": {"Destination": queue_arn}})
'''

WRONG = [
    Wrong("batch", "the handler reports failures, but the mapping does not let it",
          source=HANDLER + '''

def connect_queue(function_name: str, queue_arn: str) -> str:
    pages = lam.get_paginator("list_event_source_mappings").paginate(FunctionName=function_name, EventSourceArn=queue_arn)
    for page in pages:
        for existing in page["EventSourceMappings"]:
            return lam.update_event_source_mapping(UUID=existing["UUID"], BatchSize=10)["UUID"]
    return lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function_name, BatchSize=10)["UUID"]
''', loses=("message by message", "only the invalid orders")),
    Wrong("batch", "a second call creates a second mapping",
          source=HANDLER + '''

def connect_queue(function_name: str, queue_arn: str) -> str:
    return lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=function_name, BatchSize=10,
                                           FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
''', loses=("one mapping",)),
    Wrong("timeout", "a fixed 10 s timeout, which fits any short job",
          source='''
def fix_report_pipeline(function_name: str, queue_url: str, work_seconds: float) -> None:
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "60"})
    lam.update_function_configuration(FunctionName=function_name, Timeout=10)
    lam.get_waiter("function_updated_v2").wait(FunctionName=function_name)
''', loses=("stops a hung job",), hidden_too=True),
    Wrong("timeout", "a fixed 3 s timeout, which fits the visible work time",
          source='''
def fix_report_pipeline(function_name: str, queue_url: str, work_seconds: float) -> None:
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"VisibilityTimeout": "18"})
    lam.update_function_configuration(FunctionName=function_name, Timeout=3)
    lam.get_waiter("function_updated_v2").wait(FunctionName=function_name)
''', loses=(), hidden_too=True),
    Wrong("checkout", "the mailer invoked synchronously, its error ignored",
          source=CHECKOUT + KEEP_FAILED, loses=("waits for lab-fraud-score only", "tried 3 times"), hidden_too=True),
    Wrong("checkout", "both functions invoked asynchronously",
          source=CHECKOUT.replace("FunctionName=FRAUD_FUNCTION,", 'FunctionName=FRAUD_FUNCTION, InvocationType="Event",')
          .replace("FunctionName=MAILER_FUNCTION,", 'FunctionName=MAILER_FUNCTION, InvocationType="Event",') + KEEP_FAILED,
          loses=("returns the score",), hidden_too=True),
]
