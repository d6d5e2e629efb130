"""The shop as one CloudFormation template, and its deployment in the sandbox.

:func:`template` writes the template of the shop up to a chapter: the same
resources, with the same names, that :func:`labkit.shop.build` creates with
boto3. :func:`deploy` creates it with ``create_stack`` and the
``stack_create_complete`` waiter.

What moto 5.2.5's CloudFormation does not create, labkit creates after the
stack, from the template's own properties (:data:`FILLED`), and
:func:`deploy` returns which resources it filled (``Shop.filled``):

* ``AWS::ElastiCache::ReplicationGroup``, ``AWS::RDS::DBCluster``,
  ``AWS::CloudWatch::Alarm``, ``AWS::CloudTrail::Trail``,
  ``AWS::S3::BucketPolicy``, ``AWS::SQS::QueuePolicy``: moto has no model for
  them (its parser logs "No Moto CloudFormation support" and skips them);
* ``AWS::ECS::Service``: moto creates the service but ignores its
  ``LaunchType``, ``NetworkConfiguration`` and ``LoadBalancers``, so its tasks
  would reach no target group; ``AWS::ECS::TaskDefinition``: moto ignores
  ``RequiresCompatibilities``, ``NetworkMode`` and ``Cpu``, so Fargate refuses it;
* ``AWS::ApiGateway::Method``: moto ignores ``RequestParameters`` (the
  ``{id}`` path mapping), so the methods, and the ``AWS::ApiGateway::Deployment``
  that must come after them, are filled too;
* ``AWS::StepFunctions::StateMachine``: moto creates it in its plain Step
  Functions backend, while the sandbox's API (which really runs executions)
  reads another one, so ``ListStateMachines`` would not show it;
* ``AWS::AutoScaling::AutoScalingGroup``: moto registers the new instances
  with the group's target groups at once, while labkit's EC2 still has them
  ``pending``, and the target group refuses them;
* a resource that reads an attribute moto cannot give (:data:`UNREADABLE`:
  an ALB's ``CanonicalHostedZoneID`` and ``LoadBalancerFullName``): the alias
  record ``shop.example.com`` and the alarm on the ALB's 5XX answers;
* every resource that refers to a filled one (``Ref``, ``Fn::GetAtt``,
  ``Fn::Sub``, ``DependsOn``): the Aurora instances, the SSM parameters
  holding the cache's and the database's endpoints.

One more place where the template bends to moto, said where it is written:
the rule ``shop-order-paid`` and the function ``shop-orders`` name the bus
``shop`` as a string with ``DependsOn`` (moto's ``Ref`` to an
``AWS::Events::EventBus`` gives its Python object, not its name). When the rule's
target is the state machine (:func:`labkit.shop.chapters.delivers_to_state_machines`),
the rule refers to a filled resource and is filled too.

The filled resources are not stack resources (``describe_stack_resources``
does not list them, ``delete_stack`` leaves them). Two things are not
infrastructure and no template holds them: the apps' code (on AWS it is in
the AMI and the container image; here :func:`deploy` registers the apps with
``lab.ec2.register_app`` and ``lab.ecs.register_image``) and the rows of the
``products`` table (on AWS a migration job or a custom resource writes them;
here :func:`deploy` seeds them through the writer endpoint).
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import chapters, functions, resources
from . import model as m

#: The resource types labkit creates after the stack, and why.
FILLED: dict[str, str] = {
    "AWS::ElastiCache::ReplicationGroup": "moto's CloudFormation has no model for it",
    "AWS::RDS::DBCluster": "moto's CloudFormation has no model for it",
    "AWS::CloudWatch::Alarm": "moto's CloudFormation has no model for it",
    "AWS::CloudTrail::Trail": "moto's CloudFormation has no model for it",
    "AWS::S3::BucketPolicy": "moto's CloudFormation has no model for it",
    "AWS::SQS::QueuePolicy": "moto's CloudFormation has no model for it",
    "AWS::ECS::Service": "moto ignores LaunchType, NetworkConfiguration and LoadBalancers",
    "AWS::ECS::TaskDefinition": "moto ignores RequiresCompatibilities, NetworkMode and Cpu",
    "AWS::StepFunctions::StateMachine": "moto creates it in a backend the API does not read when state machines "
                                        "really run (the sandbox's Step Functions configuration)",
    "AWS::ApiGateway::Method": "moto ignores RequestParameters",
    "AWS::AutoScaling::AutoScalingGroup": "moto registers the group's instances with its target groups at once, "
                                          "while they are still pending, and the target group refuses them",
}

#: Attributes moto's CloudFormation cannot read (``Fn::GetAtt`` raises
#: NotImplementedError): a resource that needs one is filled by labkit.
UNREADABLE: set[tuple[str, str]] = {
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "CanonicalHostedZoneID"),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerFullName"),
}


def _ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def _att(name: str, attribute: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, attribute]}


def _sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def _trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def _policy(name: str, statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": statements}}]


def _arn(service: str, resource: str) -> dict[str, str]:
    return _sub(f"arn:aws:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")


# --------------------------------------------------------------------------
# The resources of each chapter
# --------------------------------------------------------------------------

def _front_door(r: dict[str, Any], done: set[str], network: tuple[str, list[str]]) -> None:
    vpc, subnets = network
    r["Zone"] = {"Type": "AWS::Route53::HostedZone", "Properties": {
        "Name": m.DOMAIN, "HostedZoneConfig": {"Comment": "Harbour Tea"}}}
    if "elb" in done:
        r["AlbSecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupName": m.ALB_SG, "GroupDescription": "Harbour Tea load balancer: HTTP from the internet", "VpcId": vpc,
            "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "CidrIp": "0.0.0.0/0"}]}}
        r["Alb"] = {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {
            "Name": m.ALB, "Type": "application", "Scheme": "internet-facing", "Subnets": subnets[:2],
            "SecurityGroups": [_ref("AlbSecurityGroup")]}}
        r["WebTargetGroup"] = {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Name": m.WEB_TG, "Protocol": "HTTP", "Port": 80, "VpcId": vpc, "TargetType": "instance",
            "HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 10, "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 2}}
        r["Listener"] = {"Type": "AWS::ElasticLoadBalancingV2::Listener", "Properties": {
            "LoadBalancerArn": _ref("Alb"), "Protocol": "HTTP", "Port": 80,
            "DefaultActions": [{"Type": "forward", "TargetGroupArn": _ref("WebTargetGroup")}]}}
        r["ShopRecord"] = {"Type": "AWS::Route53::RecordSet", "Properties": {
            "HostedZoneId": _ref("Zone"), "Name": m.DOMAIN, "Type": "A", "AliasTarget": {
                "HostedZoneId": _att("Alb", "CanonicalHostedZoneID"), "DNSName": _att("Alb", "DNSName"),
                "EvaluateTargetHealth": True}}}
    if "apigateway" in done:
        r["Api"] = {"Type": "AWS::ApiGateway::RestApi", "Properties": {
            "Name": m.API, "Description": "Harbour Tea's API", "EndpointConfiguration": {"Types": ["REGIONAL"]}}}
        r["CatalogueResource"] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": _ref("Api"), "ParentId": _att("Api", "RootResourceId"), "PathPart": "catalogue"}}
        r["ProductResource"] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
            "RestApiId": _ref("Api"), "ParentId": _ref("CatalogueResource"), "PathPart": "{id}"}}
        backend = _sub("http://${Alb.DNSName}/products")
        r["CatalogueGet"] = {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": _ref("Api"), "ResourceId": _ref("CatalogueResource"), "HttpMethod": "GET",
            "AuthorizationType": "NONE", "Integration": {"Type": "HTTP_PROXY", "IntegrationHttpMethod": "GET",
                                                          "Uri": backend}}}
        r["ProductGet"] = {"Type": "AWS::ApiGateway::Method", "Properties": {
            "RestApiId": _ref("Api"), "ResourceId": _ref("ProductResource"), "HttpMethod": "GET",
            "AuthorizationType": "NONE", "RequestParameters": {"method.request.path.id": True},
            "Integration": {"Type": "HTTP_PROXY", "IntegrationHttpMethod": "GET",
                            "Uri": _sub("http://${Alb.DNSName}/products/{id}"),
                            "RequestParameters": {"integration.request.path.id": "method.request.path.id"}}}}


def _compute(r: dict[str, Any], done: set[str], network: tuple[str, list[str]], ami: str) -> None:
    vpc, subnets = network
    if "ec2" in done:
        r["WebSecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupName": m.WEB_SG, "GroupDescription": "Harbour Tea web instances: HTTP from the load balancer",
            "VpcId": vpc, "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                                                    "SourceSecurityGroupId": _ref("AlbSecurityGroup")}]}}
        data: dict[str, Any] = {
            "ImageId": ami, "InstanceType": "t3.micro", "SecurityGroupIds": [_ref("WebSecurityGroup")],
            "UserData": {"Fn::Base64": f"#!labkit-app {m.WEB_APP}\n"}, "MetadataOptions": {"HttpTokens": "required"},
            "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": m.WEB_APP}]}]}
        r["LaunchTemplate"] = {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
            "LaunchTemplateName": m.LAUNCH_TEMPLATE, "LaunchTemplateData": data}}
        r["WebGroup"] = {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
            "AutoScalingGroupName": m.ASG, "MinSize": "2", "MaxSize": "4", "DesiredCapacity": "2",
            "LaunchTemplate": {"LaunchTemplateId": _ref("LaunchTemplate"),
                               "Version": _att("LaunchTemplate", "LatestVersionNumber")},
            "VPCZoneIdentifier": subnets[:2], "TargetGroupARNs": [_ref("WebTargetGroup")],
            "HealthCheckType": "ELB", "HealthCheckGracePeriod": 60}}
    if "ecs" in done:
        r["CartSecurityGroup"] = {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupName": m.CART_SG, "GroupDescription": "Harbour Tea cart tasks: port 8080 from the load balancer",
            "VpcId": vpc, "SecurityGroupIngress": [{"IpProtocol": "tcp", "FromPort": m.CART_PORT, "ToPort": m.CART_PORT,
                                                    "SourceSecurityGroupId": _ref("AlbSecurityGroup")}]}}
        r["Cluster"] = {"Type": "AWS::ECS::Cluster", "Properties": {"ClusterName": m.CLUSTER}}
        r["CartTargetGroup"] = {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {
            "Name": m.CART, "Protocol": "HTTP", "Port": m.CART_PORT, "VpcId": vpc, "TargetType": "ip",
            "HealthCheckPath": "/cart/health", "HealthCheckIntervalSeconds": 10, "HealthyThresholdCount": 2,
            "UnhealthyThresholdCount": 2}}
        r["CartRule"] = {"Type": "AWS::ElasticLoadBalancingV2::ListenerRule", "Properties": {
            "ListenerArn": _ref("Listener"), "Priority": 10,
            "Conditions": [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/cart*"]}}],
            "Actions": [{"Type": "forward", "TargetGroupArn": _ref("CartTargetGroup")}]}}
        r["CartTask"] = {"Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": m.CART, "RequiresCompatibilities": ["FARGATE"], "NetworkMode": "awsvpc", "Cpu": "256",
            "Memory": "512", "ContainerDefinitions": [{
                "Name": "cart", "Image": m.CART_IMAGE, "Essential": True, "Cpu": 256, "Memory": 512,
                "PortMappings": [{"ContainerPort": m.CART_PORT, "Protocol": "tcp"}]}]}}
        r["CartService"] = {"Type": "AWS::ECS::Service", "DependsOn": ["CartRule"], "Properties": {
            "Cluster": _ref("Cluster"), "ServiceName": m.CART, "TaskDefinition": _ref("CartTask"), "DesiredCount": 2,
            "LaunchType": "FARGATE", "NetworkConfiguration": {"AwsvpcConfiguration": {
                "Subnets": subnets[:2], "SecurityGroups": [_ref("CartSecurityGroup")], "AssignPublicIp": "DISABLED"}},
            "LoadBalancers": [{"TargetGroupArn": _ref("CartTargetGroup"), "ContainerName": "cart",
                               "ContainerPort": m.CART_PORT}]}}
    if "lambda" in done:
        _functions(r, done)


def _functions(r: dict[str, Any], done: set[str]) -> None:
    r["FunctionsRole"] = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": m.ORDERS_ROLE, "AssumeRolePolicyDocument": _trust("lambda.amazonaws.com"),
        "Policies": _policy(m.ORDERS_ROLE, [
            {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": _arn("logs", "log-group:/aws/lambda/shop-*")},
            {"Effect": "Allow", "Action": ["dynamodb:PutItem"], "Resource": _arn("dynamodb", f"table/{m.ORDERS_TABLE}")},
            {"Effect": "Allow", "Action": ["sns:Publish"], "Resource": _arn("sns", m.ORDER_TOPIC)},
            {"Effect": "Allow", "Action": ["events:PutEvents"], "Resource": _arn("events", f"event-bus/{m.BUS}")},
            {"Effect": "Allow", "Action": ["sqs:GetQueueUrl", "sqs:SendMessage"], "Resource": _arn("sqs", m.EMAILS_QUEUE)},
        ])}}
    variables: dict[str, Any] = {}
    if "dynamodb" in done:
        variables["ORDERS_TABLE"] = _ref("OrdersTable")
    if "sns" in done:
        variables["ORDER_TOPIC"] = _ref("OrderTopic")
    if "eventbridge" in done:
        variables["EVENT_BUS"] = m.BUS  # by name: moto's Ref to an Events::EventBus gives its object, not its name
    r["OrdersFunction"] = _function(m.ORDERS_FUNCTION, variables)
    if "eventbridge" in done:
        r["OrdersFunction"]["DependsOn"] = ["Bus"]
    r["OrdersPermission"] = {"Type": "AWS::Lambda::Permission", "Properties": {
        "FunctionName": _ref("OrdersFunction"), "Action": "lambda:InvokeFunction",
        "Principal": "apigateway.amazonaws.com", "SourceArn": _sub(
            "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*/POST/orders")}}
    r["OrdersResource"] = {"Type": "AWS::ApiGateway::Resource", "Properties": {
        "RestApiId": _ref("Api"), "ParentId": _att("Api", "RootResourceId"), "PathPart": "orders"}}
    r["OrdersPost"] = {"Type": "AWS::ApiGateway::Method", "Properties": {
        "RestApiId": _ref("Api"), "ResourceId": _ref("OrdersResource"), "HttpMethod": "POST",
        "AuthorizationType": "NONE", "Integration": {
            "Type": "AWS_PROXY", "IntegrationHttpMethod": "POST",
            "Uri": _sub("arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/"
                        "${OrdersFunction.Arn}/invocations")}}}


def _function(name: str, variables: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": name, "Runtime": "python3.12", "Handler": "index.handler", "Timeout": 10,
        "Role": _att("FunctionsRole", "Arn"), "Code": {"ZipFile": functions.SOURCES[name]},
        "Environment": {"Variables": variables}}}


def _data(r: dict[str, Any], done: set[str]) -> None:
    if "elasticache" in done:
        r["Cache"] = {"Type": "AWS::ElastiCache::ReplicationGroup", "Properties": {
            "ReplicationGroupId": m.CACHE, "ReplicationGroupDescription": "Harbour Tea product cache",
            "Engine": "valkey", "CacheNodeType": "cache.t4g.micro", "NumCacheClusters": 2,
            "AutomaticFailoverEnabled": True}}
        r["CacheEndpointParameter"] = _parameter("cache/endpoint", "${Cache.PrimaryEndPoint.Address}:"
                                                 "${Cache.PrimaryEndPoint.Port}")
    if "rds" in done:
        r["Database"] = {"Type": "AWS::RDS::DBCluster", "Properties": {
            "DBClusterIdentifier": m.DB_CLUSTER, "Engine": "aurora-postgresql", "DatabaseName": m.DB_NAME,
            "MasterUsername": m.DB_USER, "MasterUserPassword": m.DB_PASSWORD}}
        for n, name in enumerate(m.DB_INSTANCES, 1):
            r[f"DatabaseInstance{n}"] = {"Type": "AWS::RDS::DBInstance", "DependsOn": [f"DatabaseInstance{n - 1}"]
                                         if n > 1 else [], "Properties": {
                "DBInstanceIdentifier": name, "DBClusterIdentifier": _ref("Database"), "Engine": "aurora-postgresql",
                "DBInstanceClass": "db.r6g.large"}}
        r["DbEndpointParameter"] = _parameter("db/endpoint", "${Database.Endpoint.Address}:${Database.Endpoint.Port}")
        r["DbReaderParameter"] = _parameter("db/reader", "${Database.ReadEndpoint.Address}:${Database.Endpoint.Port}")
        r["DbUserParameter"] = _parameter("db/user", m.DB_USER)
        # On AWS, a SecureString parameter cannot come from CloudFormation (Secrets Manager would hold the password).
        r["DbPasswordParameter"] = _parameter("db/password", m.DB_PASSWORD)
    if "dynamodb" in done:
        r["OrdersTable"] = {"Type": "AWS::DynamoDB::Table", "Properties": {
            "TableName": m.ORDERS_TABLE, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "order_id", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "order_id", "KeyType": "HASH"}]}}


def _parameter(name: str, value: str) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": m.PARAMETERS + name, "Type": "String", "Value": _sub(value) if "${" in value else value}}


def _operate(r: dict[str, Any], done: set[str]) -> None:
    if "cloudwatch" in done:
        r["WebLogs"] = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": m.LOG_GROUP,
                                                                      "RetentionInDays": 30}}
        r["AlertsTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": m.ALERTS_TOPIC}}
        r["AlbAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": m.ALB_ALARM, "AlarmDescription": "The web instances answer 5XX errors",
            "Namespace": "AWS/ApplicationELB", "MetricName": "HTTPCode_Target_5XX_Count",
            "Dimensions": [{"Name": "LoadBalancer", "Value": _att("Alb", "LoadBalancerFullName")}], "Statistic": "Sum",
            "Period": 60, "EvaluationPeriods": 1, "Threshold": 5, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching", "AlarmActions": [_ref("AlertsTopic")]}}
        r["OrdersAlarm"] = {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmName": m.ORDERS_ALARM, "AlarmDescription": "shop-orders fails", "Namespace": "AWS/Lambda",
            "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": _ref("OrdersFunction")}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": [_ref("AlertsTopic")]}}
    if "cloudtrail" in done:
        bucket = "shop-trail-${AWS::AccountId}"
        trail_arn = _arn("cloudtrail", f"trail/{m.TRAIL}")
        r["TrailBucket"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": _sub(bucket)}}
        r["TrailBucketPolicy"] = {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": _ref("TrailBucket"), "PolicyDocument": {"Version": "2012-10-17", "Statement": [
                {"Sid": "AclCheck", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": "s3:GetBucketAcl", "Resource": _sub(f"arn:aws:s3:::{bucket}"),
                 "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}}},
                {"Sid": "Write", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                 "Action": "s3:PutObject", "Resource": _sub(f"arn:aws:s3:::{bucket}/AWSLogs/${{AWS::AccountId}}/*"),
                 "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceArn": trail_arn}}},
            ]}}}
        r["Trail"] = {"Type": "AWS::CloudTrail::Trail", "DependsOn": ["TrailBucketPolicy"], "Properties": {
            "TrailName": m.TRAIL, "S3BucketName": _ref("TrailBucket"), "IsLogging": True, "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True}}
    if "iam" in done:
        r["WebRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": m.WEB_ROLE, "AssumeRolePolicyDocument": _trust("ec2.amazonaws.com"),
            "Policies": _policy(m.WEB_ROLE, [
                {"Effect": "Allow", "Action": ["ssm:GetParametersByPath", "ssm:GetParameter"],
                 "Resource": _arn("ssm", "parameter/shop/*")},
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                 "Resource": _arn("logs", f"log-group:{m.LOG_GROUP}:*")}])}}
        r["WebInstanceProfile"] = {"Type": "AWS::IAM::InstanceProfile", "Properties": {
            "InstanceProfileName": m.WEB_ROLE, "Roles": [_ref("WebRole")]}}
        r["CartTaskRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": m.TASK_ROLE, "AssumeRolePolicyDocument": _trust("ecs-tasks.amazonaws.com"),
            "Policies": _policy(m.TASK_ROLE, [{"Effect": "Allow", "Action": ["ssm:GetParametersByPath"],
                                               "Resource": _arn("ssm", "parameter/shop/*")}])}}
        r["Developer"] = {"Type": "AWS::IAM::User", "Properties": {
            "UserName": m.DEVELOPER, "Policies": _policy("shop-developer-read", [
                {"Effect": "Allow", "Action": ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:DescribeLogStreams"],
                 "Resource": [_arn("logs", f"log-group:{m.LOG_GROUP}:*"), _arn("logs", "log-group:/aws/lambda/shop-*:*")]},
                {"Effect": "Allow", "Action": ["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms",
                                               "cloudwatch:ListMetrics"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks"],
                 "Resource": "*", "Condition": {"ArnEquals": {"ecs:cluster": _arn("ecs", f"cluster/{m.CLUSTER}")}}}])}}


def _events(r: dict[str, Any], done: set[str]) -> None:
    if "sqs" in done:
        r["OrderEventsDlq"] = {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": m.EVENTS_DLQ, "MessageRetentionPeriod": 14 * 24 * 3600}}
        r["OrderEvents"] = {"Type": "AWS::SQS::Queue", "Properties": {
            "QueueName": m.EVENTS_QUEUE, "RedrivePolicy": {"deadLetterTargetArn": _att("OrderEventsDlq", "Arn"),
                                                           "maxReceiveCount": 5}}}
    if "sns" in done:
        r["Emails"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": m.EMAILS_QUEUE}}
        r["OrderTopic"] = {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": m.ORDER_TOPIC, "Subscription": [
            {"Protocol": "sqs", "Endpoint": _att("OrderEvents", "Arn")},
            {"Protocol": "sqs", "Endpoint": _att("Emails", "Arn")}]}}
        for logical in ("OrderEvents", "Emails"):
            r[f"{logical}Policy"] = {"Type": "AWS::SQS::QueuePolicy", "Properties": {
                "Queues": [_ref(logical)], "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "FromShopOrderPlaced", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                    "Action": "sqs:SendMessage", "Resource": _att(logical, "Arn"),
                    "Condition": {"ArnEquals": {"aws:SourceArn": _ref("OrderTopic")}}}]}}}
    if "eventbridge" in done:
        r["Bus"] = {"Type": "AWS::Events::EventBus", "Properties": {"Name": m.BUS}}
        r["EventsRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": m.EVENTS_ROLE, "AssumeRolePolicyDocument": _trust("events.amazonaws.com"),
            "Policies": _policy(m.EVENTS_ROLE, [{"Effect": "Allow", "Action": "states:StartExecution",
                                                 "Resource": _arn("states", f"stateMachine:{m.STATE_MACHINE}")}])}}
        # EventBusName by name: moto's Events::Rule takes a Ref to the bus as its object, not its name
        rule: dict[str, Any] = {"Name": m.PAID_RULE, "EventBusName": m.BUS, "EventPattern": chapters.paid_pattern(),
                                "Description": "A paid order starts its fulfilment", "State": "ENABLED"}
        if "stepfunctions" in done and chapters.delivers_to_state_machines():
            rule["Targets"] = [{"Id": "fulfil", "Arn": _ref("FulfilOrder"), "RoleArn": _att("EventsRole", "Arn")}]
        r["PaidRule"] = {"Type": "AWS::Events::Rule", "DependsOn": ["Bus"], "Properties": rule}
    if "stepfunctions" in done:
        for name in m.STEP_FUNCTIONS:
            logical = "".join(part.capitalize() for part in name.split("-"))
            r[logical] = _function(name, {"EMAILS_QUEUE": m.EMAILS_QUEUE} if name == "shop-notify" else {})
        arns = {name: "${" + "".join(p.capitalize() for p in name.split("-")) + ".Arn}" for name in m.STEP_FUNCTIONS}
        r["FulfilRole"] = {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": m.STATES_ROLE, "AssumeRolePolicyDocument": _trust("states.amazonaws.com"),
            "Policies": _policy(m.STATES_ROLE, [{"Effect": "Allow", "Action": "lambda:InvokeFunction",
                                                 "Resource": [_sub(a) for a in arns.values()]}])}}
        r["FulfilOrder"] = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "StateMachineName": m.STATE_MACHINE, "RoleArn": _att("FulfilRole", "Arn"),
            "DefinitionString": _sub(json.dumps(functions.definition(arns)))}}


def template(through: str | None = None, *, before: str | None = None, network: tuple[str, list[str]] | None = None,
             ami: str | None = None) -> dict[str, Any]:
    """The CloudFormation template of the shop up to chapter ``through`` (or before ``before``).

    ``network`` is ``(vpc id, subnet ids)`` and ``ami`` the image id; by
    default the sandbox's default VPC and the latest Amazon Linux 2023 AMI.
    """
    done = set(m.chapters_through(through, before))
    if network is None or ami is None:
        from . import _context

        ctx = _context()
        network = network or resources.network(ctx)
        ami = ami or ctx.client("ssm").get_parameter(Name=resources.AMI_PARAMETER)["Parameter"]["Value"]
    parts: dict[str, Any] = {}
    _front_door(parts, done, network)
    _compute(parts, done, network, ami)
    _data(parts, done)
    _operate(parts, done)
    _events(parts, done)
    if "Api" in parts:
        parts["ApiDeployment"] = {"Type": "AWS::ApiGateway::Deployment", "DependsOn": sorted(
            n for n, r in parts.items() if r["Type"] == "AWS::ApiGateway::Method"), "Properties": {
            "RestApiId": _ref("Api"), "StageName": m.STAGE, "Description": "the shop's API"}}
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"Harbour Tea, the course's shop, through the {max(done, key=m.CHAPTERS.index)} chapter",
            "Resources": parts,
            "Outputs": _outputs(parts)}


def _outputs(resources: dict[str, Any]) -> dict[str, Any]:
    outputs: dict[str, Any] = {"Url": {"Value": m.URL}}
    if "Api" in resources:
        outputs["ApiUrl"] = {"Value": _sub(f"https://${{Api}}.execute-api.${{AWS::Region}}.amazonaws.com/{m.STAGE}")}
    return outputs


# --------------------------------------------------------------------------
# What labkit fills in
# --------------------------------------------------------------------------

def references(value: Any) -> set[str]:
    """The logical ids a property value refers to (Ref, Fn::GetAtt, Fn::Sub)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value:
            found.add(value["Ref"])
        elif "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        elif "Fn::Sub" in value:
            found.update(x.split(".")[0] for x in re.findall(r"\$\{([^}!]+)\}", value["Fn::Sub"]) if "::" not in x)
        else:
            for item in value.values():
                found |= references(item)
    elif isinstance(value, list):
        for item in value:
            found |= references(item)
    return found


def attributes(value: Any) -> set[tuple[str, str]]:
    """The (logical id, attribute) pairs a property value reads with Fn::GetAtt or Fn::Sub."""
    found: set[tuple[str, str]] = set()
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            found.add((value["Fn::GetAtt"][0], value["Fn::GetAtt"][1]))
        elif "Fn::Sub" in value:
            found.update(tuple(x.split(".", 1)) for x in re.findall(r"\$\{([^}!]+)\}", value["Fn::Sub"]) if "." in x)
        else:
            for item in value.values():
                found |= attributes(item)
    elif isinstance(value, list):
        for item in value:
            found |= attributes(item)
    return found


def split(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The template moto creates and the resources labkit fills in (those of a
    :data:`FILLED` type, those that read an :data:`UNREADABLE` attribute, and
    every resource that refers to one of them)."""
    resources = body["Resources"]
    filled = {name for name, r in resources.items() if r["Type"] in FILLED or any(
        (resources[logical]["Type"], attribute) in UNREADABLE
        for logical, attribute in attributes(r.get("Properties", {})) if logical in resources)}
    changed = True
    while changed:
        changed = False
        for name, resource in resources.items():
            needs = references(resource.get("Properties", {})) | set(resource.get("DependsOn", []))
            if name not in filled and needs & filled:
                filled.add(name)
                changed = True
    kept = {n: r for n, r in resources.items() if n not in filled}
    outputs = {k: v for k, v in body.get("Outputs", {}).items() if not references(v) & filled}
    return {**body, "Resources": kept, "Outputs": outputs}, {n: resources[n] for n in resources if n in filled}
