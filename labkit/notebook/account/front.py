"""The front door: Route 53 zones, records and health checks; load balancers,
listeners, rules, target groups and targets; REST APIs, routes and integrations."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from .model import Node
from .reading import Survey

PART = "front door"
_APEX_ONLY = ("NS", "SOA")


def _short(labels: list[str], most: int = 3) -> str:
    labels = sorted(dict.fromkeys(labels))
    return ", ".join(labels[:most]) + (f" +{len(labels) - most} more" if len(labels) > most else "")


# ---------------------------------------------------------------------------
# Route 53
# ---------------------------------------------------------------------------


def route53(s: Survey) -> None:
    client = s.client("route53")
    for check in s.pages("route53", "list_health_checks", "HealthChecks"):
        config = check.get("HealthCheckConfig", {})
        target = config.get("IPAddress") or config.get("FullyQualifiedDomainName") or ""
        what = f"{config.get('Type', '')} {target}:{config.get('Port', '')}{config.get('ResourcePath', '')}"
        node = s.node(f"route53:check:{check['Id']}", "route53", check["Id"], noun="health check", part=PART,
                      label=f"health check\n{what.strip()}")
        if target:
            s.link(node, target, "", "probes")
    for zone in s.pages("route53", "list_hosted_zones", "HostedZones"):
        zone_name = zone["Name"].rstrip(".")
        zone_id = zone["Id"].rsplit("/", 1)[-1]
        records = [r for r in s.pages("route53", "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id)
                   if not (r["Type"] in _APEX_ONLY and r["Name"].rstrip(".") == zone_name)]
        private = (zone.get("Config") or {}).get("PrivateZone")
        zone_node = s.node(f"route53:zone:{zone_name}", "route53", zone_name, noun="private hosted zone" if private
                           else "hosted zone", part=PART, label=f"{zone_name}\n{len(records)} record{'s' if len(records) != 1 else ''}",
                           keys=(zone_id,))
        by_name: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            by_name[record["Name"].rstrip(".").replace("\\052", "*")].append(record)
        for name, sets in by_name.items():
            types = sorted({r["Type"] + (" alias" if "AliasTarget" in r else "") for r in sets})
            policy = next((p for p in ("Weight", "Failover", "Region", "GeoLocation", "MultiValueAnswer")
                           if any(p in r for r in sets)), "")
            label = f"{name}\n{', '.join(types)}" + (f" ({len(sets)} {policy.lower()})" if policy else "")
            node = s.node(f"route53:record:{name}", "route53", name, noun="record", part=PART, label=label,
                          keys=(name,))
            s.account.link(zone_node, node, "", "holds")
            for record in sets:
                label = record.get("SetIdentifier", "")
                if "AliasTarget" in record:
                    s.link(node, record["AliasTarget"]["DNSName"], label, "points at")
                for value in record.get("ResourceRecords", []):
                    if record["Type"] in ("A", "AAAA", "CNAME"):
                        s.link(node, value["Value"], label, "points at")
                if record.get("HealthCheckId"):
                    s.link(node, f"route53:check:{record['HealthCheckId']}", "", "is checked by")
    del client


# ---------------------------------------------------------------------------
# Elastic Load Balancing
# ---------------------------------------------------------------------------


def _name_in_arn(arn: str, kind: str) -> str:
    """``shop-alb`` in ``...:loadbalancer/app/shop-alb/50dc...``, ``shop-web`` in ``...:targetgroup/shop-web/...``."""
    tail = arn.split(":", 5)[-1]
    parts = tail.split("/")
    return parts[2] if kind == "lb" and len(parts) > 2 else parts[1] if len(parts) > 1 else tail


def elbv2(s: Survey) -> None:
    client = s.client("elbv2")
    groups = s.pages("elbv2", "describe_target_groups", "TargetGroups")
    for group in groups:
        name = group["TargetGroupName"]
        described = s.read(client.describe_target_health, TargetGroupArn=group["TargetGroupArn"])
        if described is None:
            continue
        health = described["TargetHealthDescriptions"]
        states = [h.get("TargetHealth", {}).get("State", "") for h in health]
        node = s.node(f"elbv2:tg:{name}", "elb", name, noun="target group", part=PART,
                      label=f"{name}\n{len(states)} targets, {states.count('healthy')} healthy",
                      keys=(group["TargetGroupArn"], group["TargetGroupArn"].split(":", 5)[-1]))
        for described in health:
            target = described["Target"]["Id"]
            s.link(node, target, "", "forwards to", soft=True, outside=False)
    for balancer in s.pages("elbv2", "describe_load_balancers", "LoadBalancers"):
        name, arn = balancer["LoadBalancerName"], balancer["LoadBalancerArn"]
        kind = {"application": "alb", "network": "nlb"}.get(balancer.get("Type", ""), "elb")
        listeners = s.pages("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=arn)
        ports = ", ".join(f"{item['Protocol']}:{item['Port']}" for item in sorted(listeners, key=lambda i: i["Port"]))
        noun = {"alb": "Application Load Balancer", "nlb": "Network Load Balancer"}.get(kind, "load balancer")
        node = s.node(f"elbv2:lb:{name}", kind, name, noun=noun, part=PART, label=f"{name}\n{ports}".strip(),
                      keys=(arn, balancer.get("DNSName", ""), "/".join(arn.split(":", 5)[-1].split("/")[1:])))
        answers = []
        for listener in listeners:
            where = f"{listener['Protocol']}:{listener['Port']}"
            rules = s.pages("elbv2", "describe_rules", "Rules", ListenerArn=listener["ListenerArn"])
            for rule in sorted(rules, key=lambda r: (r.get("IsDefault", False), str(r.get("Priority")))):
                condition = _conditions(rule)
                for group_arn in _forwarded(rule.get("Actions", [])):
                    s.link(node, group_arn, f"{where} {condition}".strip(), "forwards to")
                answers += [f"{where} {condition}: {answer}" for answer in _answered(rule.get("Actions", []))]
        if answers:  # what the balancer answers itself is part of its label: there is no target to draw
            old = s.account.nodes[node]
            shown = answers[:3] + ([f"+{len(answers) - 3} more"] if len(answers) > 3 else [])
            s.account.nodes[node] = Node(old.kind, old.name, "\n".join([old.label, *shown]), old.noun, old.part)


def _conditions(rule: dict[str, Any]) -> str:
    if rule.get("IsDefault"):
        return "default"
    words = []
    for condition in rule.get("Conditions", []):
        field = condition.get("Field", "")
        values = condition.get("Values") or []
        for key in ("PathPatternConfig", "HostHeaderConfig", "HttpRequestMethodConfig", "SourceIpConfig"):
            values = values or (condition.get(key) or {}).get("Values", [])
        words.append(f"{ {'path-pattern': 'path', 'host-header': 'host'}.get(field, field)} {' '.join(values)}")
    return "; ".join(words)


def _answered(actions: list[dict[str, Any]]) -> list[str]:
    """What a rule answers without a target: a redirect or a fixed response."""
    out = []
    for action in actions:
        if action.get("Type") == "redirect":
            config = action.get("RedirectConfig") or {}
            out.append(f"redirect to {config.get('Protocol', '#{protocol}')}:{config.get('Port', '#{port}')}"
                       .replace("#{protocol}:#{port}", "same URL"))
        elif action.get("Type") == "fixed-response":
            out.append(f"answers {(action.get('FixedResponseConfig') or {}).get('StatusCode', '')}")
    return out


def _forwarded(actions: list[dict[str, Any]]) -> list[str]:
    out = []
    for action in actions:
        if action.get("Type") != "forward":
            continue
        if action.get("TargetGroupArn"):
            out.append(action["TargetGroupArn"])
        for weighted in (action.get("ForwardConfig") or {}).get("TargetGroups", []):
            out.append(weighted["TargetGroupArn"])
    return list(dict.fromkeys(out))


# ---------------------------------------------------------------------------
# API Gateway
# ---------------------------------------------------------------------------

_LAMBDA_URI = re.compile(r"functions/(arn:aws:lambda:[^/]+)/invocations")


def _integration_target(s: Survey, integration: dict[str, Any]) -> str | None:
    kind, uri = integration.get("type", ""), integration.get("uri", "") or ""
    if kind in ("AWS", "AWS_PROXY"):
        found = _LAMBDA_URI.search(uri)
        if found:
            return found.group(1)
        service = re.match(r"arn:aws:apigateway:[^:]*:([^:]+):(?:path|action)/(.*)", uri)
        if service and service.group(1) == "sqs":
            return f"sqs:{service.group(2).rstrip('/').rsplit('/', 1)[-1]}"
        if service:
            return f"{service.group(1)}.amazonaws.com"
    if kind in ("HTTP", "HTTP_PROXY") and uri:
        return urlsplit(uri).hostname or uri
    return None


def apigateway(s: Survey) -> None:
    client = s.client("apigateway")
    for api in s.pages("apigateway", "get_rest_apis", "items"):
        api_id, name = api["id"], api.get("name", api["id"])
        described = s.read(client.get_stages, restApiId=api_id)
        if described is None:
            continue
        stages = [st["stageName"] for st in described.get("item", [])]
        label = name + (f"\nstages: {', '.join(sorted(stages))}" if stages else "\nnot deployed")
        node = s.node(f"apigateway:{name}", "apigateway", name, noun="REST API", part=PART, label=label,
                      keys=(f"apigw:{api_id}", f"apigw-name:{name}", f"{api_id}.execute-api.{s.region}.amazonaws.com"))
        routes: dict[str, list[str]] = defaultdict(list)
        count = 0
        for resource in s.pages("apigateway", "get_resources", "items", restApiId=api_id, embed=["methods"]):
            for method, described in (resource.get("resourceMethods") or {}).items():
                count += 1
                integration = described.get("methodIntegration")
                if integration is None:
                    try:
                        integration = client.get_integration(restApiId=api_id, resourceId=resource["id"],
                                                             httpMethod=method)
                    except ClientError as error:
                        if error.response["Error"]["Code"] != "NotFoundException":
                            raise
                        continue
                target = _integration_target(s, integration)
                if target:
                    routes[target].append(f"{method} {resource.get('path', '/')}")
        for target, labels in routes.items():
            s.link(node, target, _short(labels), "sends requests to")
        if count:
            old = s.account.nodes[node]
            s.account.nodes[node] = Node(old.kind, old.name, f"{old.label}\n{count} route{'s' if count != 1 else ''}",
                                         old.noun, old.part)
        for authorizer in client.get_authorizers(restApiId=api_id).get("items", []):
            s.detail("API authorizers", authorizer["name"])
            found = _LAMBDA_URI.search(authorizer.get("authorizerUri", "") or "")
            if found:
                s.link(node, found.group(1), f"authorizer {authorizer['name']}", "asks")
    for plan in s.pages("apigateway", "get_usage_plans", "items"):
        s.detail("usage plans", plan["name"])
    for key in s.pages("apigateway", "get_api_keys", "items"):
        s.detail("API keys", key.get("name") or key["id"])
    for domain in s.pages("apigateway", "get_domain_names", "items"):
        s.detail("custom domain names", domain["domainName"])
        for mapping in s.pages("apigateway", "get_base_path_mappings", "items", domainName=domain["domainName"]):
            api = s.find(f"apigw:{mapping.get('restApiId')}")
            if api:
                for host in (domain.get("regionalDomainName"), domain.get("distributionDomainName"),
                             domain["domainName"]):
                    s.key(host, api)


def apigatewayv2(s: Survey) -> None:
    for api in s.pages("apigatewayv2", "get_apis", "Items"):
        name = api.get("Name", api["ApiId"])
        node = s.node(f"apigateway:{name}", "apigateway", name, noun=f"{api.get('ProtocolType', 'HTTP')} API",
                      part=PART, keys=(f"apigw:{api['ApiId']}",))
        integrations = {i["IntegrationId"]: i for i in s.pages("apigatewayv2", "get_integrations", "Items",
                                                                ApiId=api["ApiId"])}
        routes: dict[str, list[str]] = defaultdict(list)
        for route in s.pages("apigatewayv2", "get_routes", "Items", ApiId=api["ApiId"]):
            integration = integrations.get(str(route.get("Target", "")).rsplit("/", 1)[-1], {})
            uri = integration.get("IntegrationUri", "")
            if uri:
                routes[uri if uri.startswith("arn:") else (urlsplit(uri).hostname or uri)].append(route["RouteKey"])
        for target, labels in routes.items():
            s.link(node, target, _short(labels), "sends requests to")
