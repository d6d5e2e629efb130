"""The CloudWatch service: metrics the services publish, queries answered per
metric, alarms evaluated on the sandbox clock with their actions, and logs
filter patterns and metric filters; each proved through plain boto3. Then its
seams on real moto objects, and its reset."""

from __future__ import annotations

import base64
import gzip
import json
import math
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from labkit.core import registry, seams
from labkit.services import cloudwatch as local
from labkit.services.cloudwatch import alarms as alarm_logic
from tests.support.policies import allow_queue

DIMS = [{"Name": "Site", "Value": "web"}]


def utc(epoch):
    return datetime.fromtimestamp(epoch, timezone.utc)


@pytest.fixture()
def cw(lab):
    lab.cloudwatch  # metrics are published from CloudWatch's first use on (its chapter says so)
    client = lab.client("cloudwatch")
    local.sample_now()
    return client


@pytest.fixture()
def minute(lab, cw):
    """Freeze the sandbox clock one second after a whole minute; return that minute (epoch)."""
    with lab.clock.frozen():
        now = lab.clock.now()
        lab.clock.advance(math.ceil(now / 60) * 60 - now + 1)
        yield lab.clock.now() - 1


def put_series(cw, base, values, name="Errors", namespace="Shop"):
    """One data point per minute before ``base`` (oldest first; None: nothing that minute)."""
    for k, value in enumerate(values):
        if value is not None:
            stamp = base - (len(values) - k) * 60 + 5
            cw.put_metric_data(Namespace=namespace, MetricData=[
                {"MetricName": name, "Value": value, "Dimensions": DIMS, "Timestamp": utc(stamp)}])


def alarm(cw, name="a", n=3, m=None, missing=None, **extra):
    args = {"AlarmName": name, "Namespace": "Shop", "MetricName": "Errors", "Dimensions": DIMS, "Statistic": "Maximum",
                "Period": 60, "EvaluationPeriods": n, "Threshold": 1.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"}
    if m is not None:
        args["DatapointsToAlarm"] = m
    if missing is not None:
        args["TreatMissingData"] = missing
    args.update(extra)
    cw.put_metric_alarm(**args)
    return state(cw, name)


def state(cw, name="a"):
    return cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"]


def window(lab, seconds=3600):
    now = lab.clock.now()
    return utc(now - seconds), utc(now + 60)


# ------------------------------------------------------------------ queries


def test_list_metrics_lists_each_metric_once(cw):
    for value in range(5):
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Orders", "Value": value, "Dimensions": DIMS}])
    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Orders", "Value": 1,
                                                      "Dimensions": [{"Name": "Site", "Value": "app"}]}])
    metrics = cw.list_metrics(Namespace="Shop")["Metrics"]
    assert sorted(m["Dimensions"][0]["Value"] for m in metrics) == ["app", "web"]
    assert cw.list_metrics(Namespace="Shop", Dimensions=[{"Name": "Site", "Value": "app"}])["Metrics"] == [
        {"Namespace": "Shop", "MetricName": "Orders", "Dimensions": [{"Name": "Site", "Value": "app"}]}]


def test_statistics_come_from_the_metric_with_exactly_these_dimensions(lab, cw):
    both = DIMS + [{"Name": "Page", "Value": "/cart"}]
    for value in (1, 2, 3, 4, 100):
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Latency", "Value": value, "Dimensions": DIMS}])
    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Latency", "Value": 999, "Dimensions": both}])
    cw.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "Latency", "Value": 555, "Dimensions": DIMS}])
    start, end = window(lab)
    points = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", Dimensions=DIMS, StartTime=start,
                                      EndTime=end, Period=3600, Statistics=["Sum", "SampleCount", "Maximum"],
                                      ExtendedStatistics=["p50", "p99"])["Datapoints"]
    total = {k: sum(p[k] for p in points) for k in ("Sum", "SampleCount")}
    assert total == {"Sum": 110.0, "SampleCount": 5.0}
    assert max(p["Maximum"] for p in points) == 100.0
    data = cw.get_metric_data(StartTime=start, EndTime=end, MetricDataQueries=[
        {"Id": "p", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Latency", "Dimensions": DIMS},
                                   "Period": 3600, "Stat": "p99"}}])["MetricDataResults"][0]
    assert max(data["Values"]) == 100.0


def test_get_metric_data_returns_one_value_per_minute_newest_first(lab, cw, minute):
    put_series(cw, minute, [1, None, 3, 4])
    start = utc(minute - 600)
    result = cw.get_metric_data(StartTime=start, EndTime=utc(minute), MetricDataQueries=[
        {"Id": "e", "MetricStat": {"Metric": {"Namespace": "Shop", "MetricName": "Errors", "Dimensions": DIMS},
                                   "Period": 60, "Stat": "Sum"}}])["MetricDataResults"][0]
    assert result["Values"] == [4.0, 3.0, 1.0]
    assert [t.timestamp() for t in result["Timestamps"]] == [minute - 60, minute - 120, minute - 240]
    chart = local.chart({"MetricDataResults": [result]}, title="errors", threshold=2)
    assert "threshold" in chart._repr_svg_() and "4" in str(chart)


def test_bad_query_parameters_get_aws_errors(lab, cw):
    start, end = window(lab)
    cases = [
        {"Period": 45, "Statistics": ["Sum"]},
        {"Period": 60, "Statistics": ["Median"]},
        {"Period": 60},
        {"Period": 1, "Statistics": ["Sum"]},  # 3,660 one-second datapoints: over the limit
    ]
    codes = []
    for extra in cases:
        with pytest.raises(ClientError) as error:
            cw.get_metric_statistics(Namespace="Shop", MetricName="X", StartTime=start, EndTime=end, **extra)
        codes.append(error.value.response["Error"]["Code"])
    assert codes == ["InvalidParameterValue", "InvalidParameterValue", "InvalidParameterCombination",
                     "InvalidParameterCombination"]
    assert cw.list_metrics()["Metrics"] is not None  # still serving


# ------------------------------------------------------------------ the documented decision table

# "How alarm state is evaluated when data is missing" (Using Amazon CloudWatch alarms): five data points,
# oldest first; 0 not breaching, X breaching, - missing. Columns: missing, ignore, breaching, notBreaching.
KEEP = ""
THREE_OF_THREE = [
    ("0-X-X", ("OK", "OK", "OK", "OK")),
    ("0----", ("OK", "OK", "OK", "OK")),
    ("-----", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
    ("0XX-X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("----X", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
]
TWO_OF_THREE = [
    ("0-X-X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("00X0X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0-X--", ("OK", "OK", "ALARM", "OK")),
    ("----0", ("OK", "OK", "ALARM", "OK")),
    ("----X", ("INSUFFICIENT_DATA", KEEP, "ALARM", "OK")),
]


@pytest.mark.parametrize(("m", "row", "expected"), [(3, *r) for r in THREE_OF_THREE] + [(2, *r) for r in TWO_OF_THREE])
def test_decision_follows_the_documented_table(m, row, expected):
    points = [None if c == "-" else (5.0 if c == "X" else 0.0) for c in row]
    breaches = [None if p is None else p >= 1 for p in points]
    got = tuple(alarm_logic.decide(points, breaches, n=3, m=m, treatment=t, describe="greater than",
                                   threshold=1.0)[0] for t in ("missing", "ignore", "breaching", "notBreaching"))
    assert got == expected


# ------------------------------------------------------------------ alarms on the clock


def test_a_new_alarm_on_a_metric_that_never_reports_is_insufficient_data(cw, minute, lab):
    assert alarm(cw, "silent", n=1) == "INSUFFICIENT_DATA"
    lab.clock.advance(600)
    item = cw.describe_alarms(AlarmNames=["silent"])["MetricAlarms"][0]
    assert (item["StateValue"], item["StateReason"]) == ("INSUFFICIENT_DATA", "Unchecked: Initial alarm creation")


@pytest.mark.parametrize(("treatment", "expected"), [
    ("missing", "INSUFFICIENT_DATA"), ("notBreaching", "OK"), ("breaching", "ALARM"), ("ignore", "ALARM")])
def test_missing_data_treatments_when_the_metric_stops(cw, minute, lab, treatment, expected):
    put_series(cw, minute, [0, 0, 5, 5, 5])
    assert alarm(cw, "t", n=3, missing=treatment) == "ALARM"
    lab.clock.advance(10 * 60)  # ten silent minutes: the range holds no data point any more
    assert state(cw, "t") == expected


def test_m_of_n_needs_m_breaching_points_among_the_last_n(cw, minute, lab):
    put_series(cw, minute, [0, 0, 5, 0, 5])
    assert alarm(cw, "two-of-three", n=3, m=2) == "ALARM"
    assert alarm(cw, "three-of-three", n=3, m=3) == "OK"
    reason = cw.describe_alarms(AlarmNames=["two-of-three"])["MetricAlarms"][0]["StateReason"]
    assert reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [5.0 (")


def test_evaluation_follows_the_clock_minute_by_minute(cw, minute, lab):
    assert alarm(cw, "live", n=2, m=2) == "INSUFFICIENT_DATA"
    for _ in range(2):
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Errors", "Value": 9, "Dimensions": DIMS}])
        lab.clock.advance(60)
    assert state(cw, "live") == "ALARM"
    for _ in range(2):
        cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Errors", "Value": 0, "Dimensions": DIMS}])
        lab.clock.advance(60)
    assert state(cw, "live") == "OK"
    history = cw.describe_alarm_history(AlarmName="live", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ["Alarm updated from ALARM to OK",
                                                      "Alarm updated from INSUFFICIENT_DATA to ALARM"]


def test_set_alarm_state_lasts_until_the_next_evaluation(cw, minute, lab):
    put_series(cw, minute, [0, 0, 0])
    assert alarm(cw, "drill", n=1) == "OK"
    cw.set_alarm_state(AlarmName="drill", StateValue="ALARM", StateReason="testing the pager")
    assert state(cw, "drill") == "ALARM"
    cw.put_metric_data(Namespace="Shop", MetricData=[{"MetricName": "Errors", "Value": 0, "Dimensions": DIMS}])
    lab.clock.advance(60)
    assert state(cw, "drill") == "OK"


def test_sns_action_reaches_an_sqs_subscriber_in_aws_format(lab, cw, minute):
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="pager")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    allow_queue(sqs, inbox, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    put_series(cw, minute, [5])
    alarm(cw, "page", n=1, AlarmActions=[topic], AlarmDescription="errors on the web site")
    envelope = json.loads(sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert envelope["Subject"] == 'ALARM: "page" in US East (N. Virginia)'
    message = json.loads(envelope["Message"])
    assert (message["AlarmName"], message["NewStateValue"], message["OldStateValue"]) == (
        "page", "ALARM", "INSUFFICIENT_DATA")
    assert message["Trigger"]["Dimensions"] == [{"value": "web", "name": "Site"}]
    assert message["Trigger"]["Statistic"] == "MAXIMUM"
    actions = cw.describe_alarm_history(AlarmName="page", HistoryItemType="Action")["AlarmHistoryItems"]
    assert actions[0]["HistorySummary"] == f"Successfully executed action {topic}"


def test_actions_disabled_and_missing_topics(lab, cw, minute):
    sns = lab.client("sns")
    topic = sns.create_topic(Name="gone")["TopicArn"]
    sns.delete_topic(TopicArn=topic)
    put_series(cw, minute, [5])
    alarm(cw, "quiet", n=1, AlarmActions=[topic], ActionsEnabled=False)
    assert cw.describe_alarm_history(AlarmName="quiet", HistoryItemType="Action")["AlarmHistoryItems"] == []
    alarm(cw, "broken", n=1, AlarmActions=[topic])
    items = cw.describe_alarm_history(AlarmName="broken", HistoryItemType="Action")["AlarmHistoryItems"]
    assert items[0]["HistorySummary"].startswith("Failed to execute action")
    assert state(cw, "broken") == "ALARM"


def test_lambda_action_receives_the_alarm_event(lab, cw, minute, lambda_role):
    lam = lab.client("lambda")
    source = "import json\ndef handler(event, context):\n    print('EVENT ' + json.dumps(event))\n"
    lam.create_function(FunctionName="on-alarm", Runtime="python3.12", Role=lambda_role, Handler="app.handler",
                        Code={"ZipFile": lab.lambda_.zip_code(source)})
    arn = lam.get_function(FunctionName="on-alarm")["Configuration"]["FunctionArn"]
    put_series(cw, minute, [5])
    alarm(cw, "fn", n=1, AlarmActions=[arn])
    logs = lab.client("logs")
    events = logs.filter_log_events(logGroupName="/aws/lambda/on-alarm", filterPattern="EVENT")["events"]
    event = json.loads(events[0]["message"].split("EVENT ", 1)[1])
    assert event["source"] == "aws.cloudwatch"
    assert event["alarmData"]["state"]["value"] == "ALARM"
    assert event["alarmData"]["previousState"]["value"] == "INSUFFICIENT_DATA"
    assert event["alarmData"]["configuration"]["metrics"][0]["metricStat"]["metric"]["dimensions"] == {"Site": "web"}


def test_alarm_parameters_aws_refuses(cw):
    bad = [{"ComparisonOperator": "GreaterThan"}, {"DatapointsToAlarm": 4}, {"Period": 45},
           {"TreatMissingData": "zero"}, {"Statistic": "Median"}]
    codes = []
    for extra in bad:
        with pytest.raises(ClientError) as error:
            alarm(cw, "bad", n=3, **extra)
        codes.append(error.value.response["Error"]["Code"])
    assert codes == ["ValidationError"] * 5
    assert cw.describe_alarms(AlarmNames=["bad"])["MetricAlarms"] == []
    with pytest.raises(ClientError) as error:
        cw.set_alarm_state(AlarmName="nope", StateValue="ALARM", StateReason="x")
    assert error.value.response["Error"]["Code"] == "ResourceNotFound"


def test_updating_an_alarm_keeps_its_state(cw, minute):
    put_series(cw, minute, [5])
    assert alarm(cw, "u", n=1) == "ALARM"
    assert alarm(cw, "u", n=1, Threshold=1.5) == "ALARM"
    kinds = [h["HistorySummary"] for h in
             cw.describe_alarm_history(AlarmName="u", HistoryItemType="ConfigurationUpdate")["AlarmHistoryItems"]]
    assert kinds == ['Alarm "u" updated', 'Alarm "u" created']


def test_dynamodb_alarms_ignore_missing_data(cw, minute, lab):
    cw.put_metric_alarm(AlarmName="ddb", Namespace="AWS/DynamoDB", MetricName="ThrottledRequests",
                        Dimensions=[{"Name": "TableName", "Value": "orders"}, {"Name": "Operation", "Value": "PutItem"}],
                        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="breaching")
    lab.clock.advance(300)
    assert state(cw, "ddb") == "INSUFFICIENT_DATA"


# ------------------------------------------------------------------ metrics the services publish


def metric_names(cw, namespace):
    return {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
            for m in cw.list_metrics(Namespace=namespace)["Metrics"]}


def total(cw, lab, namespace, name, dims, stat="Sum"):
    start, end = window(lab, 7200)
    points = cw.get_metric_statistics(Namespace=namespace, MetricName=name, Dimensions=dims, StartTime=start,
                                      EndTime=end, Period=60, Statistics=[stat])["Datapoints"]
    return sum(p[stat] for p in points) if stat == "Sum" else max((p[stat] for p in points), default=None)


def test_sqs_publishes_counts_and_sampled_depth(lab, cw, minute):
    sqs = lab.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "two"}, {"Id": "b", "MessageBody": "3"}])
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    lab.clock.advance(5 * 60)
    q = [{"Name": "QueueName", "Value": "orders"}]
    assert total(cw, lab, "AWS/SQS", "NumberOfMessagesSent", q) == 3
    assert total(cw, lab, "AWS/SQS", "NumberOfMessagesReceived", q) == 1
    assert total(cw, lab, "AWS/SQS", "NumberOfMessagesDeleted", q) == 1
    assert total(cw, lab, "AWS/SQS", "ApproximateNumberOfMessagesVisible", q, "Maximum") == 2
    assert total(cw, lab, "AWS/SQS", "ApproximateAgeOfOldestMessage", q, "Maximum") >= 240
    assert ("ApproximateNumberOfMessagesVisible", (("QueueName", "orders"),)) in metric_names(cw, "AWS/SQS")


def test_sns_publishes_published_delivered_failed(lab, cw):
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = sns.create_topic(Name="orders")["TopicArn"]
    url = sqs.create_queue(QueueName="sub")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    allow_queue(sqs, url, "sns.amazonaws.com", topic)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    gone = sqs.create_queue(QueueName="gone")["QueueUrl"]
    gone_arn = sqs.get_queue_attributes(QueueUrl=gone, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=gone_arn)
    sqs.delete_queue(QueueUrl=gone)
    refusing = sqs.create_queue(QueueName="no-policy")["QueueUrl"]  # exists, but its policy does not let SNS in
    refusing_arn = sqs.get_queue_attributes(QueueUrl=refusing, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=refusing_arn)
    sns.publish(TopicArn=topic, Message="order 1")
    t = [{"Name": "TopicName", "Value": "orders"}]
    assert total(cw, lab, "AWS/SNS", "NumberOfMessagesPublished", t) == 1
    assert total(cw, lab, "AWS/SNS", "NumberOfNotificationsDelivered", t) == 1
    assert total(cw, lab, "AWS/SNS", "NumberOfNotificationsFailed", t) == 2


def test_dynamodb_publishes_consumed_capacity_and_throttles(lab, cw):
    ddb = lab.client("dynamodb")
    ddb.create_table(TableName="carts", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    lab.dynamodb.simulate_throttling("carts")
    results = []
    with lab.clock.frozen():
        for n in range(3):
            try:
                ddb.put_item(TableName="carts", Item={"id": {"S": f"c{n}"}, "blob": {"S": "x" * 1500}})
                results.append(True)
            except ClientError as error:
                results.append(error.response["Error"]["Code"])
    ddb.get_item(TableName="carts", Key={"id": {"S": "c0"}}, ConsistentRead=True)
    table = [{"Name": "TableName", "Value": "carts"}]
    throttled = results.count("ProvisionedThroughputExceededException")
    assert results.count(True) + throttled == 3
    assert total(cw, lab, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table) == 2.0 * results.count(True)
    assert total(cw, lab, "AWS/DynamoDB", "ConsumedReadCapacityUnits", table) == 1.0
    assert throttled >= 1
    assert total(cw, lab, "AWS/DynamoDB", "ThrottledRequests", table + [{"Name": "Operation", "Value": "PutItem"}]) \
        == throttled
    assert total(cw, lab, "AWS/DynamoDB", "WriteThrottleEvents", table) == throttled


def test_eventbridge_publishes_matched_and_invocations(lab, cw):
    events, sqs = lab.client("events"), lab.client("sqs")
    arns = []
    for name in ("paid", "audit"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arns.append(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    rule_arn = events.put_rule(Name="paid", EventPattern=json.dumps({"source": ["shop.payments"]}))["RuleArn"]
    allow_queue(sqs, sqs.get_queue_url(QueueName="paid")["QueueUrl"], "events.amazonaws.com", rule_arn)
    # "audit" has no queue policy for the rule: its invocation fails
    events.put_targets(Rule="paid", Targets=[{"Id": "q", "Arn": arns[0]}, {"Id": "a", "Arn": arns[1]}])
    events.put_events(Entries=[{"Source": "shop.payments", "DetailType": "paid", "Detail": "{}"},
                               {"Source": "shop.other", "DetailType": "x", "Detail": "{}"}])
    rule = [{"Name": "RuleName", "Value": "paid"}]
    assert total(cw, lab, "AWS/Events", "MatchedEvents", rule) == 1
    assert total(cw, lab, "AWS/Events", "Invocations", rule) == 2
    assert total(cw, lab, "AWS/Events", "FailedInvocations", rule) == 1


def test_step_functions_publish_started_and_succeeded(lab, cw, sfn_role):
    sfn = lab.client("stepfunctions")
    machine = sfn.create_state_machine(name="checkout", roleArn=sfn_role, definition=json.dumps(
        {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    assert lab.stepfunctions.wait_for_execution(sfn, execution)["status"] == "SUCCEEDED"  # describes until it ends
    dims = [{"Name": "StateMachineArn", "Value": machine}]
    assert total(cw, lab, "AWS/States", "ExecutionsStarted", dims) == 1
    assert total(cw, lab, "AWS/States", "ExecutionsSucceeded", dims) == 1


# ------------------------------------------------------------------ logs


@pytest.fixture()
def group(lab, cw):
    logs = lab.client("logs")
    logs.create_log_group(logGroupName="/shop/web")
    logs.create_log_stream(logGroupName="/shop/web", logStreamName="s")
    return logs


def write(logs, *messages, at=None):
    import time

    stamp = int((at or time.time()) * 1000)
    logs.put_log_events(logGroupName="/shop/web", logStreamName="s",
                        logEvents=[{"timestamp": stamp + n, "message": m} for n, m in enumerate(messages)])


LINES = ["[ERROR] payment declined for order 7", "[INFO] order 8 paid", "[ERROR] timeout calling bank",
         json.dumps({"level": "ERROR", "latency": 1200, "order": 9}), json.dumps({"level": "INFO", "latency": 80})]


@pytest.mark.parametrize(("pattern", "expected"), [
    ("ERROR", [0, 2, 3]),  # a term matches the raw text, JSON events too
    ('"payment declined"', [0]),
    ("ERROR -timeout", [0, 3]),
    ("?timeout ?paid", [1, 2]),
    ('{ $.level = "ERROR" }', [3]),
    ("{ $.latency > 1000 }", [3]),
    ('{ $.level = "INFO" && $.latency < 100 }', [4]),
    ('{ ($.level = "ERROR") || ($.latency < 100) }', [3, 4]),
    ("%time.ut%", [2]),
    ("error", []),  # terms are case-sensitive
    ("", [0, 1, 2, 3, 4]),
])
def test_filter_log_events_with_filter_patterns(group, pattern, expected):
    write(group, *LINES)
    found = group.filter_log_events(logGroupName="/shop/web", filterPattern=pattern)["events"]
    assert [LINES.index(e["message"]) for e in found] == expected


def test_errors_in_the_last_hour(group):
    import time

    now = time.time()
    write(group, "[ERROR] old", at=now - 2 * 3600)
    write(group, "[ERROR] recent", "[INFO] fine", at=now - 600)
    found = group.filter_log_events(logGroupName="/shop/web", filterPattern="ERROR",
                                    startTime=int((now - 3600) * 1000), endTime=int(now * 1000))["events"]
    assert [e["message"] for e in found] == ["[ERROR] recent"]


def test_metric_filter_turns_a_lambdas_error_lines_into_a_metric(lab, cw, lambda_role):
    lam, logs = lab.client("lambda"), lab.client("logs")
    source = ("import logging\nlogging.getLogger().setLevel(logging.INFO)\n"
              "def handler(event, context):\n"
              "    if event.get('card') == 'bad':\n        logging.error('payment declined')\n"
              "    else:\n        logging.info('paid')\n    return 'done'\n")
    lam.create_function(FunctionName="payments", Runtime="python3.12", Role=lambda_role, Handler="app.handler",
                        Code={"ZipFile": lab.lambda_.zip_code(source)})
    lam.invoke(FunctionName="payments", Payload=json.dumps({"card": "ok"}))  # makes the log group
    logs.put_metric_filter(logGroupName="/aws/lambda/payments", filterName="errors", filterPattern="ERROR",
                           metricTransformations=[{"metricName": "PaymentErrors", "metricNamespace": "Shop",
                                                   "metricValue": "1"}])
    for card in ("bad", "ok", "bad"):
        lam.invoke(FunctionName="payments", Payload=json.dumps({"card": card}))
    start, end = window(lab)
    points = cw.get_metric_statistics(Namespace="Shop", MetricName="PaymentErrors", StartTime=start, EndTime=end,
                                      Period=3600, Statistics=["Sum"])["Datapoints"]
    assert sum(p["Sum"] for p in points) == 2.0


def test_metric_filter_values_and_dimensions_from_json(lab, cw, group):
    group.put_metric_filter(logGroupName="/shop/web", filterName="latency", filterPattern="{ $.latency > 0 }",
                            metricTransformations=[{"metricName": "Latency", "metricNamespace": "Shop",
                                                    "metricValue": "$.latency", "unit": "Milliseconds",
                                                    "dimensions": {"Level": "$.level"}}])
    write(group, *LINES)
    start, end = window(lab)
    points = cw.get_metric_statistics(Namespace="Shop", MetricName="Latency", StartTime=start, EndTime=end,
                                      Period=3600, Statistics=["Maximum"],
                                      Dimensions=[{"Name": "Level", "Value": "ERROR"}])["Datapoints"]
    assert [p["Maximum"] for p in points] == [1200.0]


def test_a_metric_filter_is_replaced_by_name_and_deleted_with_its_group(lab, cw, group):
    transform = [{"metricName": "Errors", "metricNamespace": "Shop", "metricValue": "1"}]
    for _ in range(2):
        group.put_metric_filter(logGroupName="/shop/web", filterName="errors", filterPattern="ERROR",
                                metricTransformations=transform)
    assert len(group.describe_metric_filters(logGroupName="/shop/web")["metricFilters"]) == 1
    group.delete_log_group(logGroupName="/shop/web")
    assert group.describe_metric_filters()["metricFilters"] == []


def test_subscription_filter_delivers_only_matching_events(lab, cw, group, lambda_role):
    lam = lab.client("lambda")
    source = ("import base64, gzip, json\ndef handler(event, context):\n"
              "    data = json.loads(gzip.decompress(base64.b64decode(event['awslogs']['data'])))\n"
              "    print('GOT ' + json.dumps([e['message'] for e in data['logEvents']]))\n")
    lam.create_function(FunctionName="errors-to-chat", Runtime="python3.12", Role=lambda_role,
                        Handler="app.handler", Code={"ZipFile": lab.lambda_.zip_code(source)})
    arn = lam.get_function(FunctionName="errors-to-chat")["Configuration"]["FunctionArn"]
    group.put_subscription_filter(logGroupName="/shop/web", filterName="errors", filterPattern="ERROR",
                                  destinationArn=arn)
    write(group, *LINES[:3])
    got = group.filter_log_events(logGroupName="/aws/lambda/errors-to-chat", filterPattern="GOT")["events"]
    assert [json.loads(e["message"].split("GOT ", 1)[1]) for e in got] == [[LINES[0], LINES[2]]]
    assert gzip and base64  # the handler decodes what CloudWatch Logs sends: gzip, then base64


# ------------------------------------------------------------------ seams and lifecycle


def test_every_seam_is_where_the_service_expects_it(cw):
    assert "cloudwatch" in registry.installed()
    assert seams.check(local.SEAMS) == []
    for seam in local.SEAMS:
        if seam.patched:
            assert seam.path in seams.patched(), seam.path


def test_instance_attributes_named_in_seams_exist_on_real_objects(lab, cw):
    from moto.cloudwatch.models import cloudwatch_backends
    from moto.logs.models import logs_backends
    from moto.logs.utils import EventMessageFilter
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends

    sqs, sns, logs = lab.client("sqs"), lab.client("sns"), lab.client("logs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="t")["TopicArn"]
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    cw.put_metric_data(Namespace="N", MetricData=[{"MetricName": "v", "Value": 1},
                                                  {"MetricName": "s", "StatisticValues": {
                                                      "SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}])
    cw.put_metric_alarm(AlarmName="a", Namespace="N", MetricName="v", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    logs.create_log_group(logGroupName="g")
    backend = cloudwatch_backends[lab.account_id][lab.region]
    objects = {
        ("moto.cloudwatch.models", "CloudWatchBackend"): backend,
        ("moto.cloudwatch.models", "MetricDatum"): backend.metric_data[0],
        ("moto.cloudwatch.models", "MetricAggregatedDatum"): backend.metric_data[1],
        ("moto.cloudwatch.models", "Alarm"): backend.alarms["a"],
        ("moto.logs.utils", "EventMessageFilter"): EventMessageFilter("x"),
        ("moto.logs.models", "LogsBackend"): logs_backends[lab.account_id][lab.region],
        ("moto.logs.metric_filters", "MetricFilters"): logs_backends[lab.account_id][lab.region].filters,
        ("moto.logs.models", "LogGroup"): logs_backends[lab.account_id][lab.region].groups["g"],
        ("moto.sqs.models", "Queue"): sqs_backends[lab.account_id][lab.region].queues["q"],
        ("moto.sns.models", "Subscription"): sns_backends[lab.account_id][lab.region].subscriptions[sub],
    }
    instance_seams = [seam for seam in local.SEAMS if seam.instance]
    for seam in instance_seams:
        owner, attribute = seam.qualname.rsplit(".", 1)
        assert (seam.module, owner) in objects, f"add a real {owner} to this test for {seam.path}"
        assert hasattr(objects[(seam.module, owner)], attribute), seam.path


def test_reset_forgets_history_and_metrics(lab, cw, minute):
    put_series(cw, minute, [5])
    alarm(cw, "r", n=1)
    assert alarm_logic.HISTORY
    lab.reset()
    assert alarm_logic.HISTORY == {}
    cw = lab.client("cloudwatch")
    assert cw.list_metrics()["Metrics"] == []
    cw.put_metric_alarm(AlarmName="after", Namespace="Shop", MetricName="Errors", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
                        TreatMissingData="breaching")
    assert state(cw, "after") == "ALARM"  # the service still evaluates after a reset
