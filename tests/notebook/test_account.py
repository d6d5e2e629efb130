"""labkit.notebook.account: the account surveyed from describe and list calls, drawn with alt text
written from the same graph, and compared with what CloudTrail says the sandbox created."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from labkit.notebook import account as drawing
from labkit.notebook.account import trail
from labkit.notebook.account.figure import draw_account

AMI = "ami-12c6146b"
HTTP_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def queue(aws, name, **attributes):
    url = aws["sqs"].create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return url, aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def function(lab, aws, role, name):
    code = lab.lambda_.zip_code("def handler(event, context):\n    return {'statusCode': 200, 'body': 'ok'}\n")
    return aws["lambda"].create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                                         Code={"ZipFile": code})["FunctionArn"]


def edges_by_name(account):
    return {(account.nodes[a].name, account.nodes[b].name, label) for a, b, label in account.edges}


@pytest.fixture()
def events_account(lab, aws, lambda_role):
    """A queue with a dead-letter queue, a topic that feeds it, a function it triggers, an alarm on it."""
    _, dlq_arn = queue(aws, "t-orders-dlq")
    url, arn = queue(aws, "t-orders", RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}))
    topic = aws["sns"].create_topic(Name="t-placed")["TopicArn"]
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    aws["sns"].subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
    function(lab, aws, lambda_role, "t-worker")
    aws["lambda"].create_event_source_mapping(EventSourceArn=arn, FunctionName="t-worker", BatchSize=7)
    alerts = aws["sns"].create_topic(Name="t-alerts")["TopicArn"]
    aws["cloudwatch"].put_metric_alarm(
        AlarmName="t-backlog", Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
        Dimensions=[{"Name": "QueueName", "Value": "t-orders"}], Statistic="Maximum", Period=60, EvaluationPeriods=1,
        Threshold=10, ComparisonOperator="GreaterThanThreshold", AlarmActions=[alerts])
    return url


def test_edges_follow_redrive_subscriptions_triggers_alarms_and_roles(events_account):
    account = drawing.survey()
    edges = edges_by_name(account)
    assert ("t-orders", "t-orders-dlq", "after 5 receives") in edges
    assert ("t-placed", "t-orders", "sqs") in edges
    assert ("t-placed", "ops@example.com", "email") in edges
    assert ("t-orders", "t-worker", "batches of 7") in edges
    assert ("t-backlog", "t-orders", "ApproximateNumberOfMessagesVisible") in edges
    assert ("t-backlog", "t-alerts", "on ALARM") in edges
    assert ("t-worker", "labkit-test-role", "execution role") in edges
    parts = {node.name: node.part for node in account.nodes.values()}
    assert parts["t-orders"] == "event coordination" and parts["t-worker"] == "compute"
    assert parts["t-backlog"] == parts["labkit-test-role"] == "operate and secure"
    assert parts["ops@example.com"] == ""  # outside the account
    assert account.undrawn == [] and account.notes == []


def test_alt_text_names_every_resource_and_says_every_edge(events_account):
    account = drawing.survey()
    alt = account.alt()
    for name in ("t-orders", "t-orders-dlq", "t-placed", "t-worker", "t-backlog", "t-alerts", "labkit-test-role"):
        assert name in alt
    assert "Queue t-orders moves failed messages to queue t-orders-dlq (after 5 receives)." in alt
    assert "Queue t-orders triggers function t-worker (batches of 7)." in alt
    assert "Alarm t-backlog notifies topic t-alerts (on ALARM)." in alt
    assert len(account.sentences()) == len(account.edges)


def test_the_figure_carries_the_names_and_undrawn_in_its_metadata(events_account):
    figure = drawing.draw("What this test built")
    assert figure.png is not None and figure.png.startswith(b"\x89PNG")
    data, metadata = figure._repr_mimebundle_()
    facts = metadata[drawing.METADATA_KEY]
    assert {"t-orders", "t-worker", "t-alerts"} <= set(facts["names"]) and facts["undrawn"] == []
    assert 'alt="The account in us-east-1' in data["text/html"] and "t-orders-dlq" in data["text/html"]


def test_only_keeps_the_named_prefix(events_account, aws):
    aws["sqs"].create_queue(QueueName="other-queue")
    everything = drawing.survey()
    assert "other-queue" in everything.names()
    assert "other-queue" not in everything.only("t-").names()
    assert {"t-orders", "t-placed"} <= everything.only("t-").names()


def test_without_graphviz_the_drawing_keeps_its_alt_text(events_account, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    figure = drawing.draw(require_graphviz=False)
    assert figure.png is None and "t-orders" in figure._repr_html_() and "apt-get install graphviz" in figure.problem


def test_a_failing_service_is_a_note_and_the_others_are_drawn(events_account, monkeypatch):
    def broken(s):
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "the service fell over"}}, "ListTopics")

    readers = [r if r[1] != "sns" else ("SNS", "sns", broken) for r in drawing.READERS]
    account = drawing.survey(readers=readers)
    assert any("SNS could not be read (InternalFailure: the service fell over)" in note for note in account.notes)
    assert "t-orders" in account.names() and "t-placed" not in account.names()
    # what CloudTrail says was created but the drawing lacks is named, not lost
    assert "t-placed (topic)" in account.undrawn and "t-alerts (topic)" in account.undrawn
    assert "t-placed (topic)" in account.alt()


def test_a_service_is_asked_only_once_the_sandbox_used_it(lab, aws):
    """Any call of a service installs its labkit plane; the survey asks only installed ones."""
    from labkit.core import registry
    from labkit.notebook.account import reading

    aws["sqs"].create_queue(QueueName="t-only")
    asked = []
    readers = [(title, service, lambda s, service=service: asked.append(service)) for title, service, _ in drawing.READERS]
    drawing.survey(readers=readers)
    assert "sqs" in asked
    for _, service, _ in drawing.READERS:
        assert (service in asked) == reading.used(service), service
    owners = {b: s.name for s in registry.declared().values() for b in s.botocore}
    for service in ("rds", "elasticache", "ecs"):
        assert reading.used(service) == (owners[service] in registry.installed()), service


def test_front_door_record_to_balancer_to_targets_and_api_routes(lab, aws, lambda_role):
    ec2, elb = aws["ec2"], aws["elbv2"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    ids = [i["InstanceId"] for i in ec2.run_instances(
        ImageId=AMI, MinCount=2, MaxCount=2, InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "t-web"}]}])["Instances"]]
    ec2.get_waiter("instance_running").wait(InstanceIds=ids, WaiterConfig={"Delay": 1})
    group = elb.create_target_group(Name="t-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    elb.register_targets(TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": i} for i in ids])
    cart = elb.create_target_group(Name="t-cart", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    balancer = elb.create_load_balancer(Name="t-alb", Subnets=subnets, Type="application")["LoadBalancers"][0]
    listener = elb.create_listener(LoadBalancerArn=balancer["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}])
    elb.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=10,
                    Conditions=[{"Field": "path-pattern", "Values": ["/cart*"]}],
                    Actions=[{"Type": "forward", "TargetGroupArn": cart["TargetGroupArn"]}])
    elb.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=20,
                    Conditions=[{"Field": "path-pattern", "Values": ["/old*"]}],
                    Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "410"}}])
    zone = aws["route53"].create_hosted_zone(Name="t.example.com", CallerReference="t")["HostedZone"]["Id"]
    aws["route53"].change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "CREATE", "ResourceRecordSet": {"Name": "t.example.com", "Type": "A", "AliasTarget": {
            "HostedZoneId": balancer["CanonicalHostedZoneId"], "DNSName": balancer["DNSName"],
            "EvaluateTargetHealth": False}}}]})
    api = aws["apigateway"].create_rest_api(name="t-api")["id"]
    root = aws["apigateway"].get_resources(restApiId=api)["items"][0]["id"]
    arn = function(lab, aws, lambda_role, "t-orders")
    for path, method, kind, uri in (("catalogue", "GET", "HTTP_PROXY", f"http://{balancer['DNSName']}/catalogue"),
                                    ("orders", "POST", "AWS_PROXY",
                                     f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations")):
        resource = aws["apigateway"].create_resource(restApiId=api, parentId=root, pathPart=path)["id"]
        aws["apigateway"].put_method(restApiId=api, resourceId=resource, httpMethod=method, authorizationType="NONE")
        aws["apigateway"].put_integration(restApiId=api, resourceId=resource, httpMethod=method, type=kind,
                                          integrationHttpMethod=method, uri=uri)
    aws["apigateway"].create_deployment(restApiId=api, stageName="prod")

    account = drawing.survey()
    edges = edges_by_name(account)
    assert ("t.example.com", "t.example.com", "") in edges  # the zone holds the record
    assert ("t.example.com", "t-alb", "") in edges  # the alias record points at the balancer
    assert ("t-alb", "t-web", "HTTP:80 default") in edges and ("t-alb", "t-cart", "HTTP:80 path /cart*") in edges
    assert {("t-web", ids[0], ""), ("t-web", ids[1], "")} <= {(a, m, label) for a, b, label in edges
                                                            for n in account.nodes.values() if n.name == b
                                                            for m in (n.name, *n.members)}
    assert ("t-api", "t-alb", "GET /catalogue") in edges and ("t-api", "t-orders", "POST /orders") in edges
    assert "HTTP:80 path /old*: answers 410" in next(n for n in account.nodes.values() if n.name == "t-alb").label
    api_node = next(n for n in account.nodes.values() if n.name == "t-api")
    assert "prod" in api_node.label
    assert account.undrawn == [], account.undrawn


def test_many_instances_with_one_name_are_one_node_with_a_count(lab, aws):
    ids = [i["InstanceId"] for i in aws["ec2"].run_instances(
        ImageId=AMI, MinCount=5, MaxCount=5, InstanceType="t3.micro",
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "t-fleet"}]}])["Instances"]]
    account = drawing.survey()
    fleet = [n for n in account.nodes.values() if n.name == "t-fleet"]
    assert len(fleet) == 1 and set(fleet[0].members) == set(ids) and "5 instances" in fleet[0].label
    assert all(i in account.alt() for i in ids) and account.undrawn == []


def test_a_state_machine_is_drawn_to_the_functions_its_tasks_call(lab, aws, lambda_role):
    direct = function(lab, aws, lambda_role, "t-reserve")
    function(lab, aws, lambda_role, "t-charge")
    role = aws["iam"].create_role(RoleName="t-sfn", AssumeRolePolicyDocument=json.dumps(HTTP_TRUST))["Role"]["Arn"]
    definition = {"StartAt": "Reserve", "States": {
        "Reserve": {"Type": "Task", "Resource": direct, "Next": "Charge"},
        "Charge": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "t-charge", "Payload.$": "$"}, "End": True}}}
    aws["stepfunctions"].create_state_machine(name="t-fulfil", definition=json.dumps(definition), roleArn=role)
    edges = edges_by_name(drawing.survey())
    assert {("t-fulfil", "t-reserve", "Reserve"), ("t-fulfil", "t-charge", "Charge"), ("t-fulfil", "t-sfn", "")} <= edges


def test_data_stores_and_the_trail_to_its_bucket(lab, aws):
    aws["dynamodb"].create_table(TableName="t-orders", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    aws["s3"].create_bucket(Bucket="t-trail-bucket")
    aws["s3"].put_bucket_policy(Bucket="t-trail-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:GetBucketAcl",
         "Resource": "arn:aws:s3:::t-trail-bucket"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "s3:PutObject",
         "Resource": "arn:aws:s3:::t-trail-bucket/AWSLogs/*"}]}))
    aws["cloudtrail"].create_trail(Name="t-trail", S3BucketName="t-trail-bucket")
    account = drawing.survey()
    assert ("t-trail", "t-trail-bucket", "") in edges_by_name(account)
    table = next(n for n in account.nodes.values() if n.name == "t-orders")
    assert table.part == "data" and "on-demand" in table.label
    assert account.undrawn == []


def test_created_and_kept_follows_deletes_and_parents():
    def record(source, name, p=None, r=None, **extra):
        return {"eventSource": f"{source}.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
                "requestParameters": p or {}, "responseElements": r, "readOnly": False, **extra}

    records = [
        record("sqs", "CreateQueue", {"queueName": "a"}),
        record("sqs", "CreateQueue", {"queueName": "b"}),
        record("sqs", "DeleteQueue", {"queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/a"}),
        record("sqs", "CreateQueue", {"queueName": "failed"}, errorCode="QueueAlreadyExists"),
        record("sqs", "CreateQueue", {"queueName": "elsewhere"}, awsRegion="eu-west-1"),
        record("route53", "CreateHostedZone", {"name": "z.example.com."}, {"hostedZone": {"id": "/hostedzone/Z1"}},
               awsRegion="us-east-1"),
        record("route53", "ChangeResourceRecordSets", {"hostedZoneId": "Z1", "changeBatch": {"changes": [
            {"action": "CREATE", "resourceRecordSet": {"name": "www.z.example.com.", "type": "A"}}]}}),
        record("apigateway", "CreateRestApi", {"name": "api"}, {"id": "abc"}),
        record("apigateway", "DeleteRestApi", {"restApiId": "abc"}),
        record("ec2", "RunInstances", {}, {"instances": [{"instanceId": "i-1"}, {"instanceId": "i-2"}]}),
        record("ec2", "TerminateInstances", {"instanceIds": ["i-1"]}),
    ]
    kept = trail.created_and_kept(records, "us-east-1")
    assert set(kept) == {("queue", "b"), ("hosted zone", "z.example.com"), ("record", "www.z.example.com"),
                         ("instance", "i-2")}
    records.append(record("route53", "DeleteHostedZone", {"id": "Z1"}))
    assert set(trail.created_and_kept(records, "us-east-1")) == {("queue", "b"), ("instance", "i-2")}
    assert trail.undrawn(records, "us-east-1", {"b"}) == ["i-2 (instance)"]


def test_lab_diagram_draws_the_account(lab, aws):
    aws["sqs"].create_queue(QueueName="t-handle")
    figure = lab.diagram("From the handle")
    assert figure.title == "From the handle" and "t-handle" in figure.alt
    assert lab.account.survey().names() >= {"t-handle"}


def test_a_role_is_written_under_what_runs_as_it_and_one_arrow_joins_two_resources(events_account, monkeypatch):
    """The picture writes "role <name>" under a function instead of an arrow to a role icon; an alarm that
    watches a queue and acts on it would be one arrow with both labels. The alt text keeps every edge."""
    import graphviz

    sources = []
    render = graphviz.Digraph.render

    def recording_render(self, *args, **kwargs):
        sources.append(self.source)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(graphviz.Digraph, "render", recording_render)
    figure = drawing.draw()
    source = sources[-1]
    assert "role labkit-test-role" in source and 'label="labkit-test-role"' not in source
    assert "Function t-worker runs as role labkit-test-role (execution role)." in figure.alt
    from labkit.notebook.account.figure import merged

    assert merged([("a", "b", "watches X"), ("a", "b", "on ALARM"), ("a", "b", "on ALARM"), ("b", "c", "")]) == [
        ("a", "b", "watches X; on ALARM"), ("b", "c", "")]


def test_many_unconnected_resources_of_one_kind_are_one_node_naming_them(lab, aws):
    for index in range(6):
        aws["sqs"].create_queue(QueueName=f"t-stack-{index}")
    aws["sqs"].create_queue(QueueName="t-alone")
    account = drawing.survey()
    from labkit.notebook.account.figure import _roles_in_labels, _stacked

    nodes, into = _stacked(account, *_roles_in_labels(account))
    stacked = [label for kind, label in nodes.values() if kind == "sqs"]
    assert len(stacked) == 1 and stacked[0].startswith("7 queues") and set(into) == {f"sqs:t-stack-{i}" for i in range(6)} | {
        "sqs:t-alone"}
    assert draw_account(account, "stacked").png is not None


def test_compare_names_what_differs_between_two_surveys(lab, aws):
    aws["sqs"].create_queue(QueueName="t-one")
    before = drawing.survey()
    aws["sqs"].create_queue(QueueName="t-two")
    after = drawing.survey()
    assert after.compare(before) == {"nodes only here": [("sqs:t-two", "sqs")], "nodes only there": [],
                                     "edges only here": [], "edges only there": []}
    assert after.compare(after)["nodes only here"] == []


def test_a_table_stream_triggers_a_function_and_a_custom_bus_rule_sends_to_a_queue(lab, aws, lambda_role):
    stream = aws["dynamodb"].create_table(
        TableName="t-stock", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "sku", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "sku", "KeyType": "HASH"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]["LatestStreamArn"]
    function(lab, aws, lambda_role, "t-restock")
    aws["lambda"].create_event_source_mapping(EventSourceArn=stream, FunctionName="t-restock", StartingPosition="LATEST",
                                              BatchSize=10)
    _, queue_arn = queue(aws, "t-paid")
    aws["events"].create_event_bus(Name="t-shop")
    aws["events"].put_rule(Name="t-order-paid", EventBusName="t-shop", EventPattern=json.dumps({"source": ["t.shop"]}))
    aws["events"].put_targets(Rule="t-order-paid", EventBusName="t-shop", Targets=[{"Id": "q", "Arn": queue_arn}])
    account = drawing.survey()
    edges = edges_by_name(account)
    assert ("t-stock", "t-restock", "batches of 10") in edges
    assert ("t-shop", "t-order-paid", "") in edges and ("t-order-paid", "t-paid", "") in edges
    assert "Event bus t-shop passes matching events to rule t-order-paid." in account.alt()
    assert account.undrawn == []


def test_an_alarm_on_a_metric_filter_watches_its_log_group(lab, aws):
    aws["logs"].create_log_group(logGroupName="/t/payments")
    aws["logs"].put_metric_filter(logGroupName="/t/payments", filterName="t-errors", filterPattern="ERROR",
                                  metricTransformations=[{"metricName": "PaymentErrors", "metricNamespace": "TShop",
                                                          "metricValue": "1"}])
    aws["cloudwatch"].put_metric_alarm(AlarmName="t-payment-errors", Namespace="TShop", MetricName="PaymentErrors",
                                       Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                       ComparisonOperator="GreaterThanOrEqualToThreshold")
    account = drawing.survey()
    assert ("t-payment-errors", "/t/payments", "PaymentErrors") in edges_by_name(account)
    assert account.details["metric filters"] == ["t-errors"] and account.undrawn == []


def test_a_resource_deleted_between_list_and_describe_is_skipped(lab, aws, monkeypatch):
    aws["dynamodb"].create_table(TableName="t-going", BillingMode="PAY_PER_REQUEST",
                                 AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                 KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    from labkit.notebook.account import reading

    real = reading.Survey.client

    def client(self, service):
        made = real(self, service)
        if service == "dynamodb":
            class Vanishing:
                def __getattr__(self, name):
                    return getattr(made, name)

                def describe_table(self, **kwargs):
                    raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "gone"}}, "DescribeTable")
            return Vanishing()
        return made

    monkeypatch.setattr(reading.Survey, "client", client)
    account = drawing.survey()
    assert "t-going" not in account.names() and account.notes == []


def test_a_replication_group_and_an_aurora_cluster_are_one_node_each_naming_their_members(lab, aws):
    aws["elasticache"].create_replication_group(ReplicationGroupId="t-cache", ReplicationGroupDescription="t",
                                                Engine="valkey", CacheNodeType="cache.t4g.micro", NumCacheClusters=2)
    aws["rds"].create_db_cluster(DBClusterIdentifier="t-db", Engine="aurora-postgresql", MasterUsername="shop",
                                 MasterUserPassword="not-a-secret-1")
    for name in ("t-db-1", "t-db-2"):
        aws["rds"].create_db_instance(DBInstanceIdentifier=name, DBClusterIdentifier="t-db", Engine="aurora-postgresql",
                                      DBInstanceClass="db.t4g.medium")
    account = drawing.survey()
    cache = account.nodes["elasticache:t-cache"]
    assert cache.kind == "redis" and len(cache.members) == 2 and "primary + 1 replica" in cache.label
    database = account.nodes["rds:t-db"]
    assert database.kind == "aurora" and set(database.members) == {"t-db-1", "t-db-2"}
    assert "writer t-db-1" in database.label and "reader t-db-2" in database.label
    assert account.undrawn == [] and {"t-db-1", "t-db-2"} <= account.names()


def test_an_auto_scaling_group_stands_for_its_instances_behind_its_target_group(lab, aws):
    ec2, elb, iam = aws["ec2"], aws["elbv2"], aws["iam"]
    vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]][:2]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    iam.create_role(RoleName="t-web-role", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_instance_profile(InstanceProfileName="t-web")
    iam.add_role_to_instance_profile(InstanceProfileName="t-web", RoleName="t-web-role")
    ec2.create_launch_template(LaunchTemplateName="t-web", LaunchTemplateData={
        "ImageId": AMI, "InstanceType": "t3.micro", "IamInstanceProfile": {"Name": "t-web"}})
    group = elb.create_target_group(Name="t-web", Protocol="HTTP", Port=80, VpcId=vpc)["TargetGroups"][0]
    aws["autoscaling"].create_auto_scaling_group(
        AutoScalingGroupName="t-web", LaunchTemplate={"LaunchTemplateName": "t-web", "Version": "$Latest"},
        MinSize=3, MaxSize=3, DesiredCapacity=3, VPCZoneIdentifier=",".join(subnets),
        TargetGroupARNs=[group["TargetGroupArn"]])
    account = drawing.survey()
    node = account.nodes["asg:t-web"]
    assert len(node.members) == 3 and all(m.startswith("i-") for m in node.members)
    assert not [n for n in account.nodes.values() if n.kind == "ec2"]  # the instances are the group's members
    edges = edges_by_name(account)
    assert ("elbv2:tg:t-web", "asg:t-web", "") in account.edges  # the target group forwards to the group
    assert ("t-web", "t-web-role", "launch template's instance profile") in edges
    assert account.details["launch templates"] == ["t-web"] and "t-web" in account.details["instance profiles"]
    assert account.undrawn == []
