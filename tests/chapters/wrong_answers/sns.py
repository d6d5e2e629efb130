"""Wrong answers to the SNS lab."""

from tests.chapters.wrong_answers import Wrong

NETS = '''
def subscribe_consumers(shop: dict) -> None:
    allow_topic(shop["warehouse_dlq_url"], shop["warehouse_dlq_arn"], shop["topic_arn"])
    warehouse = {"RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
                 "FilterPolicy": json.dumps({"ship": [True]}),
                 "RedrivePolicy": json.dumps({"deadLetterTargetArn": shop["warehouse_dlq_arn"]})}
    sub = sns.subscribe(TopicArn=shop["topic_arn"], Protocol="sqs", Endpoint=shop["warehouse_arn"],
                        Attributes=warehouse, ReturnSubscriptionArn=True)["SubscriptionArn"]
    for name, value in warehouse.items():
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
    LOYALTY_NET
'''

ON_FAILURE = """sns.subscribe(TopicArn=shop["topic_arn"], Protocol="lambda", Endpoint=shop["loyalty_arn"])
    lam.put_function_event_invoke_config(FunctionName=shop["loyalty_function"], MaximumRetryAttempts=2,
                                         DestinationConfig={"OnFailure": {"Destination": shop["loyalty_failures_arn"]}})"""

SUBSCRIPTION_DLQ = """allow_topic(shop["loyalty_failures_url"], shop["loyalty_failures_arn"], shop["topic_arn"])
    sns.subscribe(TopicArn=shop["topic_arn"], Protocol="lambda", Endpoint=shop["loyalty_arn"], Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": shop["loyalty_failures_arn"]})})"""

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
    Wrong("nets", "a subscription DLQ for the loyalty function, whose failures come after delivery",
          source=NETS.replace("LOYALTY_NET", SUBSCRIPTION_DLQ), loses=("tried 3 times",), hidden_too=True),
    Wrong("nets", "the filter policy on message attributes, which the publisher does not send",
          source=NETS.replace('"FilterPolicyScope": "MessageBody",', "").replace("LOYALTY_NET", ON_FAILURE),
          loses=("exactly the orders to ship",), hidden_too=True),
    Wrong("nets", "the warehouse DLQ without a policy that lets the topic in",
          source=NETS.replace('    allow_topic(shop["warehouse_dlq_url"], shop["warehouse_dlq_arn"], shop["topic_arn"])\n', "")
          .replace("LOYALTY_NET", ON_FAILURE), loses=("waits in the warehouse's dead-letter queue",), hidden_too=True),
]
