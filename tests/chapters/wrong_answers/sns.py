"""Wrong answers to the SNS lab."""

from tests.chapters.wrong_answers import Wrong

FEED = '''
def create_price_feed(prefix: str) -> dict:
    topic = sns.create_topic(Name=f"{prefix}-prices.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    wholesale_url, wholesale_arn = make_queue(f"{prefix}-wholesale.fifo", FifoQueue="true")
    search_url, search_arn = make_queue(f"{prefix}-search")
    for url, arn in ((wholesale_url, wholesale_arn), (search_url, search_arn)):
        allow_topic(url, arn, topic)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return {"topic_arn": topic, "wholesale_url": wholesale_url, "search_url": search_url}


def publish_update(topic_arn: str, update: dict) -> None:
    sns.publish(TopicArn=topic_arn, Message=json.dumps(update), MessageGroupId="prices",
                MessageDeduplicationId=update["update_id"])
'''

STANDARD_FEED = '''
def create_price_feed(prefix: str) -> dict:
    topic = sns.create_topic(Name=f"{prefix}-prices")["TopicArn"]
    wholesale_url, wholesale_arn = make_queue(f"{prefix}-wholesale")
    search_url, search_arn = make_queue(f"{prefix}-search")
    for url, arn in ((wholesale_url, wholesale_arn), (search_url, search_arn)):
        allow_topic(url, arn, topic)
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    return {"topic_arn": topic, "wholesale_url": wholesale_url, "search_url": search_url}


def publish_update(topic_arn: str, update: dict) -> None:
    sns.publish(TopicArn=topic_arn, Message=json.dumps(update))
'''

WRONG = [
    Wrong("fanout", "the billing queue gets the SNS envelope (no raw delivery)",
          source='''
def build_order_fanout(prefix: str) -> dict:
    topic = sns.create_topic(Name=f"{prefix}-orders")["TopicArn"]
    queue_url, queue_arn = make_queue(f"{prefix}-billing")
    allow_topic(queue_url, queue_arn, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    function_arn = create_function(f"{prefix}-analytics", ANALYTICS_SOURCE)
    allow_sns_to_invoke(f"{prefix}-analytics", topic)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    return {"topic_arn": topic, "queue_url": queue_url, "function_name": f"{prefix}-analytics"}
''', loses=("as published",), hidden_too=True),
    Wrong("fanout", "no queue policy: SNS may not send to the billing queue",
          source='''
def build_order_fanout(prefix: str) -> dict:
    topic = sns.create_topic(Name=f"{prefix}-orders")["TopicArn"]
    queue_url, queue_arn = make_queue(f"{prefix}-billing")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    function_arn = create_function(f"{prefix}-analytics", ANALYTICS_SOURCE)
    allow_sns_to_invoke(f"{prefix}-analytics", topic)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    return {"topic_arn": topic, "queue_url": queue_url, "function_name": f"{prefix}-analytics"}
''', loses=("as published",), hidden_too=True),
    Wrong("fanout", "no permission for SNS to invoke the function",
          source='''
def build_order_fanout(prefix: str) -> dict:
    topic = sns.create_topic(Name=f"{prefix}-orders")["TopicArn"]
    queue_url, queue_arn = make_queue(f"{prefix}-billing")
    allow_topic(queue_url, queue_arn, topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    function_arn = create_function(f"{prefix}-analytics", ANALYTICS_SOURCE)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    return {"topic_arn": topic, "queue_url": queue_url, "function_name": f"{prefix}-analytics"}
''', loses=("runs once for each order",), hidden_too=True),
    Wrong("filter", "the attribute renamed, but the amount still sent as a String",
          source='''
def publish_payment(topic: str, payment: dict) -> None:
    sns.publish(TopicArn=topic, Message=json.dumps(payment), MessageAttributes={
        "eventType": {"DataType": "String", "StringValue": payment["type"]},
        "amount": {"DataType": "String", "StringValue": str(payment["amount"])},
    })
''', loses=("1,000 or more",), hidden_too=True),
    Wrong("filter", "the publisher filters for the fraud team and drops the rest",
          source='''
def publish_payment(topic: str, payment: dict) -> None:
    if payment["type"] != "payment" or payment["amount"] < 1000:
        return
    sns.publish(TopicArn=topic, Message=json.dumps(payment), MessageAttributes={
        "eventType": {"DataType": "String", "StringValue": payment["type"]},
        "amount": {"DataType": "Number", "StringValue": str(payment["amount"])},
    })
''', loses=("still gets every message",), hidden_too=True),
    Wrong("feed", "FIFO, but one message group for every SKU", source=FEED, loses=("not blocked",)),
    Wrong("feed", "a standard topic and standard queues, no group or deduplication ids",
          source=STANDARD_FEED, loses=("reaches wholesale once",), hidden_too=True),
]
