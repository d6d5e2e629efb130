"""Compute: EC2 instances and Auto Scaling groups, ECS clusters, services and
tasks, Lambda functions and their triggers."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from botocore.exceptions import ClientError

from .reading import Survey

PART = "compute"
#: More instances than this with the same name are drawn as one node with a count.
GROUP_ABOVE = 3
_GONE = ("terminated", "shutting-down")


def _tag(tags: list[dict[str, str]] | None, key: str = "Name") -> str:
    return next((t["Value"] for t in tags or [] if t.get("Key") == key), "")


def autoscaling(s: Survey) -> None:
    for group in s.pages("autoscaling", "describe_auto_scaling_groups", "AutoScalingGroups"):
        name = group["AutoScalingGroupName"]
        ids = tuple(sorted(i["InstanceId"] for i in group.get("Instances", [])))
        size = f"{len(ids)} instance{'s' if len(ids) != 1 else ''} ({group['MinSize']} to {group['MaxSize']})"
        node = s.node(f"asg:{name}", "autoscaling", name, noun="Auto Scaling group", part=PART,
                      label=f"{name}\n{size}", members=ids, keys=(group.get("AutoScalingGroupARN", ""), *ids))
        for instance_id in ids:
            s.memo.setdefault("asg_of", {})[instance_id] = node
        for group_arn in group.get("TargetGroupARNs", []):
            s.link(group_arn, node, "", "forwards to", outside=False)
        template = group.get("LaunchTemplate") or (group.get("MixedInstancesPolicy") or {}).get(
            "LaunchTemplate", {}).get("LaunchTemplateSpecification") or {}
        if template.get("LaunchTemplateName") or template.get("LaunchTemplateId"):
            _template_role(s, node, template)
    for policy in s.pages("autoscaling", "describe_policies", "ScalingPolicies"):
        s.detail("scaling policies", policy["PolicyName"])
        s.key(policy.get("PolicyARN"), f"asg:{policy['AutoScalingGroupName']}")
    for config in s.pages("autoscaling", "describe_launch_configurations", "LaunchConfigurations"):
        s.detail("launch configurations", config["LaunchConfigurationName"])


def _template_role(s: Survey, node: str, template: dict[str, Any]) -> None:
    """The role the group's launch template gives new instances (through its instance profile)."""
    which = {"LaunchTemplateName": template["LaunchTemplateName"]} if template.get("LaunchTemplateName") else \
        {"LaunchTemplateId": template["LaunchTemplateId"]}
    version = str(template.get("Version") or "$Default")
    found = s.read(s.client("ec2").describe_launch_template_versions, **which, Versions=[version]) or {}
    versions = found.get("LaunchTemplateVersions", [])
    profile = (versions[0].get("LaunchTemplateData") or {}).get("IamInstanceProfile") or {} if versions else {}
    profiles = instance_profiles(s)
    arn = profile.get("Arn") or next((a for a in profiles if a.rsplit("/", 1)[-1] == profile.get("Name")), "")
    for role in profiles.get(arn, []):
        s.link(node, role, "launch template's instance profile", "launches instances as")


def ec2(s: Survey) -> None:
    profiles = instance_profiles(s)
    asg_of: dict[str, str] = s.memo.get("asg_of", {})
    standalone: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for reservation in s.pages("ec2", "describe_instances", "Reservations"):
        for instance in reservation.get("Instances", []):
            if instance.get("State", {}).get("Name") in _GONE:
                continue
            node = asg_of.get(instance["InstanceId"])
            if node is None:
                standalone[_tag(instance.get("Tags")) or "instance"].append(instance)
            else:
                _instance_keys(s, instance, node)
                _instance_role(s, instance, node, profiles)
    for name, instances in standalone.items():
        if len(instances) > GROUP_ABOVE:
            ids = tuple(sorted(i["InstanceId"] for i in instances))
            node = s.node(f"ec2:group:{name}", "ec2", name, noun="instances named", part=PART,
                          label=f"{name}\n{len(ids)} instances", members=ids)
            for instance in instances:
                _instance_keys(s, instance, node)
                _instance_role(s, instance, node, profiles)
            continue
        for instance in instances:
            instance_id = instance["InstanceId"]
            tag = _tag(instance.get("Tags"))
            state = instance.get("State", {}).get("Name", "")
            node = s.node(f"ec2:{instance_id}", "ec2", tag or instance_id, noun="instance", part=PART,
                          label=f"{tag}\n{instance_id} ({state})" if tag else f"{instance_id}\n{state}",
                          members=(instance_id,) if tag else ())
            _instance_keys(s, instance, node)
            _instance_role(s, instance, node, profiles)
    for group in s.pages("ec2", "describe_security_groups", "SecurityGroups"):
        if group.get("GroupName") != "default":
            s.detail("security groups", group["GroupName"])
    for template in s.pages("ec2", "describe_launch_templates", "LaunchTemplates"):
        s.detail("launch templates", template["LaunchTemplateName"])
    for pair in s.client("ec2").describe_key_pairs().get("KeyPairs", []):
        s.detail("key pairs", pair["KeyName"])
    for vpc in s.pages("ec2", "describe_vpcs", "Vpcs"):
        if not vpc.get("IsDefault"):
            s.detail("VPCs", _tag(vpc.get("Tags")) or vpc["VpcId"])


def instance_profiles(s: Survey) -> dict[str, list[str]]:
    if "instance_profiles" not in s.memo:
        found = {}
        for profile in s.pages("iam", "list_instance_profiles", "InstanceProfiles"):
            found[profile["Arn"]] = [r["Arn"] for r in profile.get("Roles", [])]
            s.detail("instance profiles", profile["InstanceProfileName"])
        s.memo["instance_profiles"] = found
    return s.memo["instance_profiles"]  # type: ignore[no-any-return]


def _instance_keys(s: Survey, instance: dict[str, Any], node: str) -> None:
    for key in ("InstanceId", "PrivateIpAddress", "PublicIpAddress", "PrivateDnsName", "PublicDnsName"):
        if instance.get(key):
            s.key(instance[key], node)


def _instance_role(s: Survey, instance: dict[str, Any], node: str, profiles: dict[str, list[str]]) -> None:
    arn = (instance.get("IamInstanceProfile") or {}).get("Arn")
    for role in profiles.get(arn or "", []):
        s.link(node, role, "instance profile", "runs as")


# ---------------------------------------------------------------------------
# ECS
# ---------------------------------------------------------------------------


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def ecs(s: Survey) -> None:
    client = s.client("ecs")
    roles: dict[str, str] = {}

    def task_role(definition: str) -> str:
        if definition not in roles:
            described = s.read(client.describe_task_definition, taskDefinition=definition) or {}
            roles[definition] = (described.get("taskDefinition") or {}).get("taskRoleArn") or ""
        return roles[definition]

    for family in s.pages("ecs", "list_task_definition_families", "families", status="ACTIVE"):
        s.detail("task definitions", family)
    arns = s.pages("ecs", "list_clusters", "clusterArns")
    for batch in _chunks(arns, 100):
        for cluster in client.describe_clusters(clusters=batch).get("clusters", []):
            if cluster.get("status") == "INACTIVE":
                continue
            name = cluster["clusterName"]
            cluster_node = s.node(f"ecs:{name}", "ecs", name, noun="ECS cluster", part=PART, label=f"{name}\ncluster",
                                  keys=(cluster["clusterArn"], f"ecs-cluster:{name}"))
            in_services = set()
            service_arns = s.pages("ecs", "list_services", "serviceArns", cluster=cluster["clusterArn"])
            for chunk in _chunks(service_arns, 10):
                for service in client.describe_services(cluster=cluster["clusterArn"], services=chunk)["services"]:
                    if service.get("status") == "INACTIVE":
                        continue
                    sname = service["serviceName"]
                    kind = "fargate" if service.get("launchType") == "FARGATE" else "ecs"
                    node = s.node(f"ecs:{name}/{sname}", kind, sname, noun="ECS service", part=PART,
                                  label=f"{sname}\n{service.get('runningCount', 0)} of {service.get('desiredCount', 0)}"
                                        " tasks running",
                                  keys=(service["serviceArn"], f"ecs-service:{name}/{sname}"))
                    s.account.link(cluster_node, node, "", "runs")
                    in_services.add(sname)
                    for balancer in service.get("loadBalancers", []):
                        if balancer.get("targetGroupArn"):
                            s.link(balancer["targetGroupArn"], node, "", "forwards to", outside=False)
                    if service.get("taskDefinition") and task_role(service["taskDefinition"]):
                        s.link(node, task_role(service["taskDefinition"]), "task role", "runs as")
            task_arns = s.pages("ecs", "list_tasks", "taskArns", cluster=cluster["clusterArn"])
            loose: dict[str, list[str]] = defaultdict(list)
            for chunk in _chunks(task_arns, 100):
                for task in client.describe_tasks(cluster=cluster["clusterArn"], tasks=chunk).get("tasks", []):
                    group = task.get("group", "")
                    owner = f"ecs:{name}/{group.split(':', 1)[1]}" if group.startswith("service:") else None
                    if owner is None or owner not in s.account.nodes:
                        family = task.get("taskDefinitionArn", "").rsplit("/", 1)[-1].split(":")[0]
                        loose[family].append(task["taskArn"])
                        owner = f"ecs:{name}/tasks/{family}"
                    for attachment in task.get("attachments", []):
                        for detail in attachment.get("details", []):
                            if detail.get("name") == "privateIPv4Address":
                                s.key(detail.get("value"), owner)
            for family, tasks in loose.items():
                node = s.node(f"ecs:{name}/tasks/{family}", "ecs", family, noun="tasks of task definition", part=PART,
                              label=f"{family}\n{len(tasks)} task{'s' if len(tasks) != 1 else ''}")
                s.account.link(cluster_node, node, "", "runs")


# ---------------------------------------------------------------------------
# Lambda
# ---------------------------------------------------------------------------


def lambda_(s: Survey) -> None:
    client = s.client("lambda")
    for function in s.pages("lambda", "list_functions", "Functions"):
        name, arn = function["FunctionName"], function["FunctionArn"]
        node = s.node(f"lambda:{name}", "lambda", name, noun="function", part=PART,
                      label=f"{name}\n{function.get('Runtime', function.get('PackageType', ''))}",
                      keys=(arn, f"lambda:{name}"))
        if function.get("Role"):
            s.link(node, function["Role"], "execution role", "runs as")
        dead = (function.get("DeadLetterConfig") or {}).get("TargetArn")
        if dead:
            s.link(node, dead, "failed async events", "sends")
        try:
            policy = json.loads(client.get_policy(FunctionName=name)["Policy"])
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            policy = {}
        for statement in policy.get("Statement", []):
            source = _source_arn(statement)
            if source:
                s.link(source, node, "", "invokes", soft=True, outside=False)
        try:
            config = client.get_function_event_invoke_config(FunctionName=name)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            config = {}
        for outcome in ("OnSuccess", "OnFailure"):
            destination = ((config.get("DestinationConfig") or {}).get(outcome) or {}).get("Destination")
            if destination:
                s.link(node, destination, f"on {outcome[2:].lower()}", "sends")
    for mapping in s.pages("lambda", "list_event_source_mappings", "EventSourceMappings"):
        if mapping.get("EventSourceArn") and mapping.get("FunctionArn"):
            s.link(mapping["EventSourceArn"], mapping["FunctionArn"], f"batches of {mapping.get('BatchSize', '?')}",
                   "triggers", outside=False)


def _source_arn(statement: dict[str, Any]) -> str:
    """The resource a permission lets invoke the function: its ``AWS:SourceArn`` condition."""
    for test in (statement.get("Condition") or {}).values():
        for key, value in test.items():
            if key.lower() == "aws:sourcearn":
                arn = value if isinstance(value, str) else value[0]
                if ":execute-api:" in arn:
                    return f"apigw:{arn.split(':', 5)[-1].split('/')[0]}"
                return str(arn)
    return ""
