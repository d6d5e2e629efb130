"""The source of the shop's Lambda functions (deployed with ``lab.lambda_.zip_code``).

``shop-orders`` takes ``POST /orders`` from API Gateway. What it does with an
order grows with the chapters, through its environment variables:
``ORDERS_TABLE`` (dynamodb: the order is stored), ``ORDER_TOPIC`` (sns: an
"order placed" message) and ``EVENT_BUS`` (eventbridge: an ``OrderPaid``
event that starts the fulfilment state machine). ``shop-reserve``,
``shop-charge`` and ``shop-notify`` are the state machine's tasks.
"""

ORDERS = '''
import json
import os
import uuid

import boto3

REGION = "us-east-1"


def handler(event, context):
    try:
        order = json.loads(event.get("body") or "{}")
        product, quantity = int(order["product"]), int(order.get("quantity", 1))
    except (ValueError, KeyError, TypeError):
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"message": 'send {"product": <id>, "quantity": <n>}'})}
    if quantity < 1:
        return {"statusCode": 400, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"message": "quantity must be at least 1"})}
    placed = {"order_id": str(uuid.uuid4()), "product": product, "quantity": quantity, "status": "PAID"}
    done = []
    if os.environ.get("ORDERS_TABLE"):
        boto3.client("dynamodb", region_name=REGION).put_item(TableName=os.environ["ORDERS_TABLE"], Item={
            "order_id": {"S": placed["order_id"]}, "product": {"N": str(product)},
            "quantity": {"N": str(quantity)}, "status": {"S": "PAID"}})
        done.append("stored")
    if os.environ.get("ORDER_TOPIC"):
        boto3.client("sns", region_name=REGION).publish(TopicArn=os.environ["ORDER_TOPIC"],
                                                        Message=json.dumps(placed))
        done.append("published")
    if os.environ.get("EVENT_BUS"):
        boto3.client("events", region_name=REGION).put_events(Entries=[{
            "EventBusName": os.environ["EVENT_BUS"], "Source": "shop.orders", "DetailType": "OrderPaid",
            "Detail": json.dumps(placed)}])
        done.append("announced")
    print(json.dumps({"order": placed["order_id"], "done": done}))
    return {"statusCode": 201, "headers": {"Content-Type": "application/json"},
            "body": json.dumps({**placed, "done": done})}
'''

RESERVE = '''
def handler(event, context):
    order = event.get("detail", event)
    if int(order.get("quantity", 1)) > 50:
        raise ValueError("not enough stock")
    return {**order, "reserved": True}
'''

CHARGE = '''
def handler(event, context):
    return {**event, "charged": True}
'''

NOTIFY = '''
import json
import os

import boto3


def handler(event, context):
    if os.environ.get("EMAILS_QUEUE"):
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.get_queue_url(QueueName=os.environ["EMAILS_QUEUE"])["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"to": "customer", "order": event.get("order_id")}))
    return {**event, "notified": True}
'''

SOURCES = {"shop-orders": ORDERS, "shop-reserve": RESERVE, "shop-charge": CHARGE, "shop-notify": NOTIFY}


def definition(functions: dict[str, str]) -> dict:
    """The fulfilment state machine (reserve stock -> charge -> notify), given each task's function ARN."""
    retry = [{"ErrorEquals": ["Lambda.ServiceException", "Lambda.TooManyRequestsException"],
              "IntervalSeconds": 1, "MaxAttempts": 3, "BackoffRate": 2.0}]
    return {
        "Comment": "Fulfil a paid order: reserve the stock, charge, notify the customer",
        "StartAt": "ReserveStock",
        "States": {
            "ReserveStock": {"Type": "Task", "Resource": functions["shop-reserve"], "Retry": retry, "Next": "Charge"},
            "Charge": {"Type": "Task", "Resource": functions["shop-charge"], "Retry": retry, "Next": "Notify"},
            "Notify": {"Type": "Task", "Resource": functions["shop-notify"], "Retry": retry, "End": True},
        },
    }
