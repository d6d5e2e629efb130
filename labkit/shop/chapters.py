"""One function per chapter: each adds that chapter's piece of the shop with plain boto3.

Each function is idempotent (it looks before it creates, and treats AWS's
"already exists" answers as done), so building again, or building further,
adds only what is missing. Where AWS would take minutes (instances booting,
targets passing their health checks, tasks starting), the function lets
sandbox time pass (``lab.clock``), a few seconds at a time, until the state
a learner would wait for is there: nothing sleeps.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from labkit.core.errors import NotEmulated
from labkit.services import ec2 as lab_ec2
from labkit.services import ecs as lab_ecs

from . import apps, functions
from . import model as m
from .resources import (
    AMI_PARAMETER,
    Context,
    api_method,
    deploy_api,
    lambda_function,
    listener,
    load_balancer,
    network,
    orders_environment,
    put_parameter,
    queue_arn,
    queue_url,
    rest_api,
    role,
    security_group,
    target_group,
    unless,
    wait_for_targets,
)

# --------------------------------------------------------------------------
# The chapters
# --------------------------------------------------------------------------

def route53(ctx: Context) -> None:
    """The hosted zone ``shop.example.com`` (its records come with later chapters)."""
    r53 = ctx.client("route53")
    zones = r53.list_hosted_zones_by_name(DNSName=m.DOMAIN, MaxItems="1")["HostedZones"]
    if zones and zones[0]["Name"] == m.DOMAIN + ".":
        ctx.found["zone"] = zones[0]["Id"]
        return
    ctx.found["zone"] = r53.create_hosted_zone(Name=m.DOMAIN, CallerReference=f"shop-{uuid.uuid4()}",
                                               HostedZoneConfig={"Comment": "Harbour Tea"})["HostedZone"]["Id"]


def elb(ctx: Context) -> None:
    """The ALB ``shop-alb`` (security group ``shop-alb-sg``), target group ``shop-web``,
    a listener on port 80 forwarding to it, and ``shop.example.com`` as an alias of the ALB."""
    elbv2 = ctx.client("elbv2")
    _, subnets = network(ctx)
    group = security_group(ctx, m.ALB_SG, "Harbour Tea load balancer: HTTP from the internet", 80)
    if unless(("LoadBalancerNotFound",), elbv2.describe_load_balancers, Names=[m.ALB]) is None:
        arn = elbv2.create_load_balancer(Name=m.ALB, Subnets=subnets[:2], SecurityGroups=[group], Scheme="internet-facing",
                                         Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
        elbv2.get_waiter("load_balancer_available").wait(LoadBalancerArns=[arn])
    alb = load_balancer(ctx)
    web_group = target_group(ctx, m.WEB_TG)
    listeners = elbv2.describe_listeners(LoadBalancerArn=alb["LoadBalancerArn"])["Listeners"]
    if not any(x["Port"] == 80 for x in listeners):
        elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                              DefaultActions=[{"Type": "forward", "TargetGroupArn": web_group}])
    if "zone" not in ctx.found:
        route53(ctx)
    ctx.client("route53").change_resource_record_sets(HostedZoneId=ctx.found["zone"], ChangeBatch={
        "Comment": "the shop's name leads to its load balancer",
        "Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": m.DOMAIN, "Type": "A", "AliasTarget": {
                "HostedZoneId": alb["CanonicalHostedZoneId"], "DNSName": alb["DNSName"],
                "EvaluateTargetHealth": True}}}]})


def apigateway(ctx: Context) -> None:
    """The REST API ``shop-api``, stage ``prod``: ``GET /catalogue`` and
    ``GET /catalogue/{id}``, HTTP proxies to the ALB's ``/products`` pages."""
    apigw = ctx.client("apigateway")
    api_id = rest_api(ctx)
    if api_id is None:
        api_id = ctx.found["api"] = apigw.create_rest_api(
            name=m.API, description="Harbour Tea's API", endpointConfiguration={"types": ["REGIONAL"]})["id"]
    backend = "http://" + load_balancer(ctx)["DNSName"]
    added = api_method(ctx, api_id, "/catalogue", "GET", {
        "type": "HTTP_PROXY", "integrationHttpMethod": "GET", "uri": backend + "/products"})
    added |= api_method(ctx, api_id, "/catalogue/{id}", "GET", {
        "type": "HTTP_PROXY", "integrationHttpMethod": "GET", "uri": backend + "/products/{id}",
        "requestParameters": {"integration.request.path.id": "method.request.path.id"}},
        request_parameters={"method.request.path.id": True})
    if added:
        deploy_api(ctx, api_id, "the catalogue")


def web_launch_data(ctx: Context, web_group: str, profile: str | None = None) -> dict[str, Any]:
    """The launch template data of the web instances (with the instance profile once iam is built)."""
    ami = ctx.client("ssm").get_parameter(Name=AMI_PARAMETER)["Parameter"]["Value"]
    data: dict[str, Any] = {
        "ImageId": ami, "InstanceType": "t3.micro", "SecurityGroupIds": [web_group],
        "UserData": base64.b64encode(f"#!labkit-app {m.WEB_APP}\n".encode()).decode(),
        "MetadataOptions": {"HttpTokens": "required"},
        "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": m.WEB_APP}]}]}
    if profile:
        data["IamInstanceProfile"] = {"Name": profile}
    return data


def ec2(ctx: Context) -> None:
    """The app ``shop-web`` (:func:`.apps.web`), its security group ``shop-web-sg``,
    launch template ``shop-web`` and Auto Scaling group ``shop-web`` (2 instances,
    ELB health checks) in target group ``shop-web``; returns once both are healthy."""
    lab_ec2.register_app(m.WEB_APP, apps.web)
    ec2_client, autoscaling = ctx.client("ec2"), ctx.client("autoscaling")
    _, subnets = network(ctx)
    alb_group = security_group(ctx, m.ALB_SG, "Harbour Tea load balancer: HTTP from the internet", 80)
    web_group = security_group(ctx, m.WEB_SG, "Harbour Tea web instances: HTTP from the load balancer", 80, alb_group)
    if unless(("InvalidLaunchTemplateName.NotFoundException",), ec2_client.describe_launch_templates,
               LaunchTemplateNames=[m.LAUNCH_TEMPLATE]) is None:
        ec2_client.create_launch_template(LaunchTemplateName=m.LAUNCH_TEMPLATE,
                                          LaunchTemplateData=web_launch_data(ctx, web_group))
    web_tg = target_group(ctx, m.WEB_TG)
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[m.ASG])["AutoScalingGroups"]
    if not groups:
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=m.ASG, LaunchTemplate={"LaunchTemplateName": m.LAUNCH_TEMPLATE, "Version": "$Latest"},
            MinSize=2, MaxSize=4, DesiredCapacity=2, VPCZoneIdentifier=",".join(subnets[:2]),
            TargetGroupARNs=[web_tg], HealthCheckType="ELB", HealthCheckGracePeriod=60)
    wait_for_targets(ctx, web_tg, 2)


def ecs(ctx: Context) -> None:
    """The image ``shop-cart:1`` (:func:`.apps.cart`), cluster ``shop``, task
    definition and service ``shop-cart`` (2 Fargate tasks) in target group
    ``shop-cart``, and the listener rule ``/cart*`` -> ``shop-cart``."""
    lab_ecs.register_image(m.CART_IMAGE, start=apps.cart_start)
    client, elbv2 = ctx.client("ecs"), ctx.client("elbv2")
    _, subnets = network(ctx)
    alb_group = security_group(ctx, m.ALB_SG, "Harbour Tea load balancer: HTTP from the internet", 80)
    cart_sg = security_group(ctx, m.CART_SG, "Harbour Tea cart tasks: port 8080 from the load balancer",
                             m.CART_PORT, alb_group)
    if not [c for c in client.describe_clusters(clusters=[m.CLUSTER])["clusters"] if c["status"] == "ACTIVE"]:
        client.create_cluster(clusterName=m.CLUSTER)
    cart_tg = target_group(ctx, m.CART, port=m.CART_PORT, target_type="ip", health_path="/cart/health")
    rule_listener = listener(ctx)
    rules = elbv2.describe_rules(ListenerArn=rule_listener)["Rules"]
    if not any(a.get("TargetGroupArn") == cart_tg for r in rules for a in r["Actions"]):
        elbv2.create_rule(ListenerArn=rule_listener, Priority=10,
                          Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/cart*"]}}],
                          Actions=[{"Type": "forward", "TargetGroupArn": cart_tg}])
    if not client.list_task_definitions(familyPrefix=m.CART)["taskDefinitionArns"]:
        client.register_task_definition(
            family=m.CART, requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
            containerDefinitions=[{"name": "cart", "image": m.CART_IMAGE, "essential": True, "cpu": 256, "memory": 512,
                                   "portMappings": [{"containerPort": m.CART_PORT, "protocol": "tcp"}]}])
    services = client.describe_services(cluster=m.CLUSTER, services=[m.CART])["services"]
    if not [s for s in services if s["status"] == "ACTIVE"]:
        client.create_service(
            cluster=m.CLUSTER, serviceName=m.CART, taskDefinition=m.CART, desiredCount=2, launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": subnets[:2], "securityGroups": [cart_sg],
                                                          "assignPublicIp": "DISABLED"}},
            loadBalancers=[{"targetGroupArn": cart_tg, "containerName": "cart", "containerPort": m.CART_PORT}])
    wait_for_targets(ctx, cart_tg, 2)


def lambda_(ctx: Context) -> None:
    """The function ``shop-orders`` (role ``shop-orders-role``) behind ``POST /orders``
    (a Lambda proxy integration), with the permission that lets API Gateway invoke it."""
    role_arn = role(ctx, m.ORDERS_ROLE, "lambda.amazonaws.com", functions_policy(ctx))
    arn = lambda_function(ctx, m.ORDERS_FUNCTION, role_arn)
    api_id = rest_api(ctx)
    if api_id is None:
        apigateway(ctx)
        api_id = rest_api(ctx)
    assert api_id is not None
    unless(("ResourceConflictException",), ctx.client("lambda").add_permission,
            FunctionName=m.ORDERS_FUNCTION, StatementId="shop-api-orders", Action="lambda:InvokeFunction",
            Principal="apigateway.amazonaws.com", SourceArn=ctx.arn("execute-api", f"{api_id}/*/POST/orders"))
    uri = f"arn:aws:apigateway:{m.REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
    if api_method(ctx, api_id, "/orders", "POST", {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": uri}):
        deploy_api(ctx, api_id, "orders")


def functions_policy(ctx: Context) -> dict[str, Any]:
    """What the shop's functions may do: write their logs, store orders, publish and announce them."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": ctx.arn("logs", "log-group:/aws/lambda/shop-*")},
        {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": ctx.arn("dynamodb", f"table/{m.ORDERS_TABLE}")},
        {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": ctx.arn("sns", m.ORDER_TOPIC)},
        {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": ctx.arn("events", f"event-bus/{m.BUS}")},
        {"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"], "Resource": queue_arn(ctx, m.EMAILS_QUEUE)},
    ]}


def elasticache(ctx: Context) -> None:
    """The Valkey replication group ``shop-cache`` (a primary and one replica);
    its primary endpoint goes to the parameter ``/shop/cache/endpoint``."""
    cache = ctx.client("elasticache")
    unless(("ReplicationGroupAlreadyExists",), cache.create_replication_group,
            ReplicationGroupId=m.CACHE, ReplicationGroupDescription="Harbour Tea product cache", Engine="valkey",
            CacheNodeType="cache.t4g.micro", NumCacheClusters=2, AutomaticFailoverEnabled=True)
    cache.get_waiter("replication_group_available").wait(ReplicationGroupId=m.CACHE, WaiterConfig={"Delay": 1})
    group = cache.describe_replication_groups(ReplicationGroupId=m.CACHE)["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    put_parameter(ctx, "cache/endpoint", f"{primary['Address']}:{primary['Port']}")


def rds(ctx: Context) -> None:
    """The Aurora PostgreSQL cluster ``shop-db`` (writer ``shop-db-1``, reader
    ``shop-db-2``), database ``shop``, table ``products`` seeded with the teas;
    its endpoints and credentials go to the parameters ``/shop/db/*``."""
    client = ctx.client("rds")
    unless(("DBClusterAlreadyExistsFault",), client.create_db_cluster,
            DBClusterIdentifier=m.DB_CLUSTER, Engine="aurora-postgresql", DatabaseName=m.DB_NAME,
            MasterUsername=m.DB_USER, MasterUserPassword=m.DB_PASSWORD)
    for name in m.DB_INSTANCES:
        unless(("DBInstanceAlreadyExists",), client.create_db_instance, DBInstanceIdentifier=name,
                DBClusterIdentifier=m.DB_CLUSTER, Engine="aurora-postgresql", DBInstanceClass="db.r6g.large")
    client.get_waiter("db_cluster_available").wait(DBClusterIdentifier=m.DB_CLUSTER, WaiterConfig={"Delay": 1})
    cluster = client.describe_db_clusters(DBClusterIdentifier=m.DB_CLUSTER)["DBClusters"][0]
    seed_products(cluster["Endpoint"], cluster["Port"])
    put_parameter(ctx, "db/endpoint", f"{cluster['Endpoint']}:{cluster['Port']}")
    put_parameter(ctx, "db/reader", f"{cluster['ReaderEndpoint']}:{cluster['Port']}")
    put_parameter(ctx, "db/user", m.DB_USER)
    put_parameter(ctx, "db/password", m.DB_PASSWORD, secure=True)


def seed_products(endpoint: str, port: int) -> None:
    """Create the table ``products`` through the writer endpoint and add the teas that are missing."""
    from labkit.services import rds as lab_rds

    connection = lab_rds.connect(endpoint, port, user=m.DB_USER, password=m.DB_PASSWORD, dbname=m.DB_NAME)
    try:
        with connection:
            connection.execute("CREATE TABLE IF NOT EXISTS products ("
                               "id INTEGER PRIMARY KEY, name TEXT NOT NULL, price NUMERIC(8, 2) NOT NULL)")
            connection.executemany("INSERT INTO products (id, name, price) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                                   apps.TEAS)
    finally:
        connection.close()


def dynamodb(ctx: Context) -> None:
    """The table ``shop-orders`` (partition key ``order_id``), written by ``shop-orders``."""
    client = ctx.client("dynamodb")
    unless(("ResourceInUseException",), client.create_table, TableName=m.ORDERS_TABLE, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}])
    client.get_waiter("table_exists").wait(TableName=m.ORDERS_TABLE, WaiterConfig={"Delay": 1})
    if _has_function(ctx, m.ORDERS_FUNCTION):
        orders_environment(ctx, ORDERS_TABLE=m.ORDERS_TABLE)


def _has_function(ctx: Context, name: str) -> bool:
    return unless(("ResourceNotFoundException",), ctx.client("lambda").get_function_configuration,
                   FunctionName=name) is not None


def cloudwatch(ctx: Context) -> None:
    """The log group ``/shop/web``, the topic ``shop-alerts`` and two alarms that
    notify it: ``shop-alb-5xx`` (the targets' 5XX answers) and ``shop-orders-errors``."""
    unless(("ResourceAlreadyExistsException",), ctx.client("logs").create_log_group, logGroupName=m.LOG_GROUP)
    ctx.client("logs").put_retention_policy(logGroupName=m.LOG_GROUP, retentionInDays=30)
    alerts = ctx.client("sns").create_topic(Name=m.ALERTS_TOPIC)["TopicArn"]
    watch = ctx.client("cloudwatch")
    balancer = load_balancer(ctx)["LoadBalancerArn"].split(":loadbalancer/")[1]
    watch.put_metric_alarm(
        AlarmName=m.ALB_ALARM, AlarmDescription="The web instances answer 5XX errors",
        Namespace="AWS/ApplicationELB", MetricName="HTTPCode_Target_5XX_Count",
        Dimensions=[{"Name": "LoadBalancer", "Value": balancer}], Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=5, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching",
        AlarmActions=[alerts])
    watch.put_metric_alarm(
        AlarmName=m.ORDERS_ALARM, AlarmDescription="shop-orders fails",
        Namespace="AWS/Lambda", MetricName="Errors", Dimensions=[{"Name": "FunctionName", "Value": m.ORDERS_FUNCTION}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching", AlarmActions=[alerts])


def trail_bucket_policy(ctx: Context, bucket: str) -> dict[str, Any]:
    trail_arn = ctx.arn("cloudtrail", f"trail/{m.TRAIL}")
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "AclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:GetBucketAcl", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
        {"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
         "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/AWSLogs/{ctx.account_id}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
    ]}


def cloudtrail(ctx: Context) -> None:
    """The bucket ``shop-trail-<account>`` (its policy lets CloudTrail write) and the trail ``shop-trail``, logging."""
    s3, trail = ctx.client("s3"), ctx.client("cloudtrail")
    bucket = m.trail_bucket(ctx.account_id)
    unless(("BucketAlreadyOwnedByYou",), s3.create_bucket, Bucket=bucket)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(trail_bucket_policy(ctx, bucket)))
    unless(("TrailAlreadyExistsException",), trail.create_trail, Name=m.TRAIL, S3BucketName=bucket,
            IsMultiRegionTrail=True, IncludeGlobalServiceEvents=True)
    trail.start_logging(Name=m.TRAIL)


def developer_policy(ctx: Context) -> dict[str, Any]:
    """What ``shop-developer`` may do: read the shop's logs, metrics and alarms, and look at its services."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"],
         "Resource": [ctx.arn("logs", f"log-group:{m.LOG_GROUP}:*"), ctx.arn("logs", "log-group:/aws/lambda/shop-*:*")]},
        {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms",
                                       "cloudwatch:ListMetrics"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks"], "Resource": "*",
         "Condition": {"ArnEquals": {"ecs:cluster": ctx.arn("ecs", f"cluster/{m.CLUSTER}")}}},
    ]}


def iam(ctx: Context) -> None:
    """The roles ``shop-web-role`` (with its instance profile) and
    ``shop-cart-task-role``, and the user ``shop-developer`` with a
    least-privilege inline policy.

    The launch template keeps its first version (no instance profile): moto
    5.2.5 stores a new launch template version's user data in a form its Auto
    Scaling cannot launch from (an ``AssertionError``), so the running web
    instances do not get the role; the template does the same."""
    client = ctx.client("iam")
    role(ctx, m.WEB_ROLE, "ec2.amazonaws.com", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ssm:GetParametersByPath", "ssm:GetParameter"],
         "Resource": ctx.arn("ssm", "parameter/shop/*")},
        {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": ctx.arn("logs", f"log-group:{m.LOG_GROUP}:*")}]})
    if unless(("EntityAlreadyExists",), client.create_instance_profile, InstanceProfileName=m.WEB_ROLE) is not None:
        client.add_role_to_instance_profile(InstanceProfileName=m.WEB_ROLE, RoleName=m.WEB_ROLE)
    role(ctx, m.TASK_ROLE, "ecs-tasks.amazonaws.com", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["ssm:GetParametersByPath"], "Resource": ctx.arn("ssm", "parameter/shop/*")}]})
    unless(("EntityAlreadyExists",), client.create_user, UserName=m.DEVELOPER)
    client.put_user_policy(UserName=m.DEVELOPER, PolicyName="shop-developer-read",
                           PolicyDocument=json.dumps(developer_policy(ctx)))


def sqs(ctx: Context) -> None:
    """The queue ``shop-order-events`` and its dead-letter queue ``shop-order-events-dlq`` (after 5 receives)."""
    queue_url(ctx, m.EVENTS_DLQ, {"MessageRetentionPeriod": str(14 * 24 * 3600)})
    redrive = json.dumps({"deadLetterTargetArn": queue_arn(ctx, m.EVENTS_DLQ), "maxReceiveCount": 5})
    url = queue_url(ctx, m.EVENTS_QUEUE)
    ctx.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": redrive})


def topic_policy(ctx: Context, queue: str, topic_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "FromShopOrderPlaced", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage", "Resource": queue_arn(ctx, queue),
        "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]})


def sns(ctx: Context) -> None:
    """The topic ``shop-order-placed``, delivered to ``shop-order-events`` and
    ``shop-emails`` (each queue's policy lets the topic in); ``shop-orders`` publishes to it."""
    client, sqs_client = ctx.client("sns"), ctx.client("sqs")
    topic = client.create_topic(Name=m.ORDER_TOPIC)["TopicArn"]
    if not _has_queue(ctx, m.EVENTS_QUEUE):
        sqs(ctx)
    queue_url(ctx, m.EMAILS_QUEUE)
    for queue in (m.EVENTS_QUEUE, m.EMAILS_QUEUE):
        url = sqs_client.get_queue_url(QueueName=queue)["QueueUrl"]
        sqs_client.set_queue_attributes(QueueUrl=url, Attributes={"Policy": topic_policy(ctx, queue, topic)})
        client.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn(ctx, queue))
    if _has_function(ctx, m.ORDERS_FUNCTION):
        orders_environment(ctx, ORDER_TOPIC=topic)


def _has_queue(ctx: Context, name: str) -> bool:
    return unless(("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"), ctx.client("sqs").get_queue_url,
                   QueueName=name) is not None


def paid_pattern() -> dict[str, Any]:
    return {"source": ["shop.orders"], "detail-type": ["OrderPaid"]}


def eventbridge(ctx: Context) -> None:
    """The bus ``shop`` and the rule ``shop-order-paid`` (``OrderPaid`` events of
    ``shop.orders``), the role ``shop-events-role`` that may start the fulfilment
    state machine; ``shop-orders`` announces paid orders on the bus. The rule's
    target is the state machine, added by the stepfunctions chapter (it does not exist yet)."""
    events = ctx.client("events")
    unless(("ResourceAlreadyExistsException",), events.create_event_bus, Name=m.BUS)
    events.put_rule(Name=m.PAID_RULE, EventBusName=m.BUS, EventPattern=json.dumps(paid_pattern()),
                    Description="A paid order starts its fulfilment")
    role(ctx, m.EVENTS_ROLE, "events.amazonaws.com", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "states:StartExecution",
         "Resource": ctx.arn("states", f"stateMachine:{m.STATE_MACHINE}")}]})
    if _has_function(ctx, m.ORDERS_FUNCTION):
        orders_environment(ctx, EVENT_BUS=m.BUS)


def stepfunctions(ctx: Context) -> None:
    """The functions ``shop-reserve``, ``shop-charge``, ``shop-notify``, the state
    machine ``shop-fulfil-order`` (reserve -> charge -> notify, with Retry) run by
    the role ``shop-fulfil-role``, and the rule ``shop-order-paid`` targeting it,
    so that every paid order starts its fulfilment (see
    :func:`delivers_to_state_machines`)."""
    functions_role = role(ctx, m.ORDERS_ROLE, "lambda.amazonaws.com", functions_policy(ctx))
    arns = {}
    for name in m.STEP_FUNCTIONS:
        environment = {"EMAILS_QUEUE": m.EMAILS_QUEUE} if name == "shop-notify" else None
        arns[name] = lambda_function(ctx, name, functions_role, environment)
    states_role = role(ctx, m.STATES_ROLE, "states.amazonaws.com", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": list(arns.values())}]})
    client = ctx.client("stepfunctions")
    machine_arn = ctx.arn("states", f"stateMachine:{m.STATE_MACHINE}")
    if unless(("StateMachineDoesNotExist",), client.describe_state_machine, stateMachineArn=machine_arn) is None:
        client.create_state_machine(name=m.STATE_MACHINE, roleArn=states_role,
                                    definition=json.dumps(functions.definition(arns)))
    if not delivers_to_state_machines():
        raise NotEmulated("EventBridge cannot start a state machine in this sandbox (labkit.services.eventbridge."
                          "targets.TARGET_SERVICES lacks 'states'), so shop-order-paid would start no fulfilment")
    if unless(("ResourceNotFoundException",), ctx.client("events").describe_rule, Name=m.PAID_RULE,
               EventBusName=m.BUS) is not None:
        ctx.client("events").put_targets(Rule=m.PAID_RULE, EventBusName=m.BUS, Targets=[
            {"Id": "fulfil", "Arn": machine_arn, "RoleArn": f"arn:aws:iam::{ctx.account_id}:role/{m.EVENTS_ROLE}"}])


def delivers_to_state_machines() -> bool:
    """Whether the sandbox's EventBridge starts state machines (moto 5.2.5 raises
    ``NotImplementedError`` inside ``PutEvents`` for such a target; labkit's
    EventBridge starts it with the target's role)."""
    from labkit.services.eventbridge import targets

    return "states" in targets.TARGET_SERVICES


#: Each chapter's builder, by chapter name.
BUILDERS = {
    "route53": route53, "elb": elb, "apigateway": apigateway, "ec2": ec2, "ecs": ecs, "lambda": lambda_,
    "elasticache": elasticache, "rds": rds, "dynamodb": dynamodb, "cloudwatch": cloudwatch,
    "cloudtrail": cloudtrail, "iam": iam, "sqs": sqs, "sns": sns, "eventbridge": eventbridge,
    "stepfunctions": stepfunctions,
}
