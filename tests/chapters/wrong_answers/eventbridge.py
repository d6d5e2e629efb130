"""Wrong answers to the EventBridge lab."""

from tests.chapters.wrong_answers import Wrong

TERMINATIONS = '''
def watch_terminations(rule_name: str, instance_ids: list[str], queue_arn: str) -> str:
    pattern = {"source": ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"],
               "detail": DETAIL}
    rule_arn = events.put_rule(Name=rule_name, EventPattern=json.dumps(pattern))["RuleArn"]
    POLICY
    events.put_targets(Rule=rule_name, Targets=[{
        "Id": TARGET_ID, "Arn": queue_arn, "InputTransformer": {
            "InputPathsMap": {"instance": "$.detail.instance-id", "time": "$.time"},
            "InputTemplate": '{"instance": <instance>, "time": <time>}'}}])
    return rule_arn
'''

QUEUE_POLICY = '''queue_url = sqs.get_queue_url(QueueName=queue_arn.rsplit(":", 1)[-1])["QueueUrl"]
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]})})'''
PRODUCTION = '{"state": ["terminated"], "instance-id": list(instance_ids)}'

INVOICING = '''
def repair_invoicing(rule_name: str, queue_url: str, dlq_url: str) -> None:
    rule_arn = events.describe_rule(Name=rule_name)["Arn"]
    arns = {}
    for url in (queue_url, dlq_url):
        arns[url] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for url in FIXED:
        statement = {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                     "Action": "sqs:SendMessage", "Resource": arns[url]}
        CONDITION
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})})
    TARGET
'''
FOR_RULE = 'statement["Condition"] = {"ArnEquals": {"aws:SourceArn": rule_arn}}'
RETARGET = ('events.put_targets(Rule=rule_name, Targets=[{"Id": "invoicing", "Arn": arns[queue_url], '
            '"DeadLetterConfig": {"Arn": arns[dlq_url]}}])')

WAREHOUSE = '''
def wire_warehouse(queue_url: str, queue_arn: str) -> None:
    rule_name = "warehouse-" + queue_arn.rsplit(":", 1)[-1]
    pattern = {"source": ["lab.shipping"], "detail-type": ["Shipment Created"],
               "detail": {"country": EU, "weight": [{"numeric": [">=", 20]}]}}
    rule_arn = events.put_rule(Name=rule_name, EventPattern=json.dumps(pattern))["RuleArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    events.put_targets(Rule=rule_name, Targets=[{"Id": "warehouse", "Arn": queue_arn, "InputTransformer": {
        "InputPathsMap": {"order": "$.detail.order", "weight": "$.detail.weight"},
        "InputTemplate": '{"order": <order>, "weight": <weight>}'}}])
'''

WRONG = [
    Wrong("terminations", "every terminated instance, not only the production ones",
          source=TERMINATIONS.replace("DETAIL", '{"state": ["terminated"]}').replace("TARGET_ID", '"ops-queue"')
          .replace("POLICY", QUEUE_POLICY),
          loses=("and nothing else",), hidden_too=True),
    Wrong("terminations", "the right rule and target, but no queue policy: EventBridge may not send to the queue",
          source=TERMINATIONS.replace("DETAIL", PRODUCTION).replace("TARGET_ID", '"ops-queue"')
          .replace("    POLICY\n", ""),
          loses=("arrives",), hidden_too=True),
    Wrong("terminations", "a new target id on every call, so a second call adds a second target",
          source=TERMINATIONS.replace("DETAIL", PRODUCTION).replace("POLICY", QUEUE_POLICY)
          .replace("TARGET_ID", '"ops-" + str(len(events.list_targets_by_rule(Rule=rule_name)["Targets"]))'),
          loses=(), hidden_too=True),
    Wrong("invoicing", "the queue's policy fixed, the DLQ's policy left naming another rule",
          source=INVOICING.replace("FIXED", "(queue_url,)").replace("CONDITION", FOR_RULE).replace("TARGET", RETARGET),
          loses=("lands in the DLQ",), hidden_too=True),
    Wrong("invoicing", "both policies for events.amazonaws.com with no aws:SourceArn: any rule may send",
          source=INVOICING.replace("FIXED", "(queue_url, dlq_url)").replace("CONDITION", "pass").replace("TARGET", RETARGET),
          loses=("another rule",), hidden_too=True),
    Wrong("invoicing", "both policies right, but the target's DLQ taken on trust",
          source=INVOICING.replace("FIXED", "(queue_url, dlq_url)").replace("CONDITION", FOR_RULE)
          .replace("    TARGET\n", ""),
          loses=(), hidden_too=True),
    Wrong("routing", "SNS with a filter policy: the right shipments, but the whole message",
          source='''
def wire_warehouse(queue_url: str, queue_arn: str) -> None:
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={
        "RawMessageDelivery": "true",
        "FilterPolicy": json.dumps({"country": EU, "weight": [{"numeric": [">", 20]}]})})
''', loses=("exactly {order, weight}",), hidden_too=True),
    Wrong("routing", "EventBridge, but 20 kg counted as heavier than 20 kg",
          source=WAREHOUSE, loses=(), hidden_too=True),
]
