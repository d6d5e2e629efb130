"""The shop built up to every chapter with boto3, and deployed from its CloudFormation template."""

from __future__ import annotations

import json

import pytest
import requests

from labkit.shop import CHAPTERS, FILLED, NAMES, model, template

# Names a chapter's survey shows (instance ids aside); what a chapter adds and no earlier one did.
UNIQUE = {chapter: [n for n in names if not any(n in NAMES[c] for c in CHAPTERS[:CHAPTERS.index(chapter)])]
          for chapter, names in NAMES.items()}


def survey_names(lab) -> set[str]:
    """The names the account survey draws, and the EventBridge bus and rules (read here: the survey cannot yet)."""
    from labkit.notebook import account

    events = lab.client("events")
    buses = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    rules = [r["Name"] for bus in buses for r in events.list_rules(EventBusName=bus)["Rules"]]
    return account.survey().names() | set(buses) | set(rules)


def product(shop, product_id=2):
    answer = requests.get(shop.product_url(product_id), timeout=10)
    return answer.status_code, (answer.json() if answer.headers.get("Content-Type") == "application/json" else None), answer


def shop_through(chapter):
    """The sandbox with the shop built through ``chapter``: built on from the
    previous test's shop when that one stopped before ``chapter`` (the tests
    below run in book order when not shuffled), from an empty sandbox otherwise."""
    import labkit

    lab = labkit.start()
    done = lab.shop.built()
    position = CHAPTERS.index(chapter)
    if not done or done != CHAPTERS[:len(done)] or len(done) > position + 1:
        lab = labkit.start(reset=True)
    return lab, lab.shop.build(chapter)


def forget_cached(lab, product_id):
    """Delete a product's key from the shop's cache, so the next read is a miss."""
    import redis

    group = lab.client("elasticache").describe_replication_groups(ReplicationGroupId=model.CACHE)["ReplicationGroups"][0]
    primary = group["NodeGroups"][0]["PrimaryEndpoint"]
    with redis.Redis(host=primary["Address"], port=primary["Port"]) as cache:
        cache.delete(f"product:{product_id}")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_shop_built_through_each_chapter_has_that_chapter_and_nothing_after(chapter):
    lab, shop = shop_through(chapter)
    position = CHAPTERS.index(chapter)
    assert shop.chapters_built == CHAPTERS[:position + 1]
    drawn = survey_names(lab)
    for done in CHAPTERS[:position + 1]:
        missing = [n for n in UNIQUE[done] if n not in drawn and not n.startswith("/")]
        assert not missing, f"{done}'s {missing} not in the account after build({chapter!r})"
    for later in CHAPTERS[position + 1:]:
        present = [n for n in UNIQUE[later] if n in drawn]
        assert not present, f"{later}'s {present} exist after build({chapter!r})"
    # the request path, as far as it exists at this chapter
    if position < CHAPTERS.index("ec2"):
        if position >= CHAPTERS.index("elb"):
            status, _, answer = product(shop)
            assert status == 503 and answer.headers["Server"] == "awselb/2.0"  # an ALB with no healthy target
        return
    if position >= CHAPTERS.index("elasticache"):
        forget_cached(lab, 2)
    status, body, answer = product(shop)
    assert status == 200 and body["id"] == 2 and body["instance"].startswith("i-")
    assert answer.headers["X-Shop-Instance"] == body["instance"]
    if position < CHAPTERS.index("elasticache"):
        assert (body["cache"], body["source"]) == ("none", "memory")
    else:
        assert body["cache"] == "miss" and answer.headers["X-Shop-Cache"] == "miss"
        again = product(shop)[1]
        assert again["cache"] == "hit" and again["name"] == body["name"]
        assert body["source"] == ("memory" if position < CHAPTERS.index("rds") else "database")


def test_a_paid_order_starts_its_fulfilment_through_the_bus():
    """The last hop of the path: the order's OrderPaid event on the bus matches
    shop-order-paid, whose target starts shop-fulfil-order with the event as input."""
    lab, shop = shop_through("stepfunctions")
    order = lab.shop.trace(shop.api_url + "/orders", method="POST", json={"product": 1, "quantity": 2, "customer": "t"})
    assert order.status == 201 and order.body["done"] == ["stored", "published", "announced"]
    started = [h for h in order.hops if h.plane == "calls made" and h.detail["operation"] == "StartExecution"]
    assert [h.resource for h in started] == [model.STATE_MACHINE]
    sfn = lab.client("stepfunctions")
    machine = lab.arn("states", f"stateMachine:{model.STATE_MACHINE}")
    arns = [e["executionArn"] for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=machine)
            for e in page["executions"]]
    mine = [arn for arn in arns
            if json.loads(sfn.describe_execution(executionArn=arn)["input"])["detail"]["order_id"] == order.body["order_id"]]
    assert len(mine) == 1
    done = lab.stepfunctions.wait_for_execution(sfn, mine[0])
    assert done["status"] == "SUCCEEDED", done
    assert json.loads(done["output"])["notified"] is True
    events = lab.stepfunctions.execution_events(sfn, mine[0])
    assert lab.stepfunctions.states_entered(events) == ["ReserveStock", "Charge", "Notify"]


def test_the_storefront_reads_aurora_then_the_cache(lab):
    shop = lab.shop.build("rds")
    rds = lab.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=model.DB_CLUSTER)["DBClusters"][0]
    connection = lab.rds.connect(cluster["Endpoint"], user=model.DB_USER, password=model.DB_PASSWORD)
    with connection:
        connection.execute("UPDATE products SET name = 'Sencha Tide (new harvest)' WHERE id = 2")
    first, second = product(shop)[1], product(shop)[1]
    assert (first["name"], first["cache"], first["source"]) == ("Sencha Tide (new harvest)", "miss", "database")
    assert (second["name"], second["cache"]) == ("Sencha Tide (new harvest)", "hit")
    assert product(shop, 4)[1]["cache"] == "miss"  # each product has its own key


def test_the_apps_follow_their_configuration_in_ssm(lab):
    shop = lab.shop.build("elasticache")
    assert product(shop)[1]["cache"] in ("miss", "hit")
    ssm = lab.client("ssm")
    endpoint = ssm.get_parameter(Name="/shop/cache/endpoint")["Parameter"]["Value"]
    ssm.delete_parameter(Name="/shop/cache/endpoint")
    assert product(shop)[1]["cache"] == "none"  # no cache configured: straight to the catalogue
    ssm.put_parameter(Name="/shop/cache/endpoint", Value=endpoint, Type="String")
    assert product(shop)[1]["cache"] == "hit"


def test_bad_product_ids_get_clear_errors_and_the_shop_keeps_serving(lab):
    shop = lab.shop.build("ec2")
    assert requests.get(shop.url + "/products/tea", timeout=10).status_code == 400
    assert requests.get(shop.url + "/products/999", timeout=10).json() == {"message": "no product 999"}
    assert requests.get(shop.url + "/health", timeout=10).status_code == 200
    assert product(shop)[0] == 200


def test_the_cart_orders_and_the_api_work_when_their_chapters_are_built(lab):
    shop = lab.shop.build("dynamodb")
    added = requests.post(shop.url + "/cart/c1", json={"product": 3, "quantity": 2}, timeout=10)
    assert added.status_code == 201 and added.json()["items"][0]["quantity"] == 2
    assert requests.get(shop.url + "/cart/c1", timeout=10).json()["items"][0]["id"] == 3
    assert requests.get(shop.api_url + "/catalogue/3", timeout=10).json()["name"] == "Lighthouse Earl Grey"
    order = requests.post(shop.api_url + "/orders", json={"product": 1, "quantity": 3}, timeout=10)
    assert order.status_code == 201 and order.json()["done"] == ["stored"]
    stored = lab.client("dynamodb").get_item(TableName=model.ORDERS_TABLE, Key={"order_id": {"S": order.json()["order_id"]}})
    assert stored["Item"]["quantity"] == {"N": "3"}
    assert requests.post(shop.api_url + "/orders", json={"product": "x"}, timeout=10).status_code == 400


def test_building_again_adds_nothing_and_building_further_adds_only_the_rest(lab):
    lab.shop.build("ecs")
    elb, autoscaling = lab.client("elbv2"), lab.client("autoscaling")

    def counts():
        groups = autoscaling.describe_auto_scaling_groups()["AutoScalingGroups"]
        return (len(elb.describe_load_balancers()["LoadBalancers"]), len(elb.describe_target_groups()["TargetGroups"]),
                len(lab.client("route53").list_hosted_zones()["HostedZones"]), sum(len(g["Instances"]) for g in groups),
                len(lab.client("ecs").list_services(cluster=model.CLUSTER)["serviceArns"]),
                len(lab.client("apigateway").get_deployments(restApiId=_api_id(lab))["items"]))

    before = counts()
    again = lab.shop.build("ecs")
    assert counts() == before and again.chapters_built == CHAPTERS[:5]
    further = lab.shop.build("lambda")
    assert counts()[:5] == before[:5]
    assert further.chapters_built == CHAPTERS[:6] and "lambda" in further.names


def _api_id(lab):
    return next(a["id"] for a in lab.client("apigateway").get_rest_apis()["items"] if a["name"] == model.API)


def test_before_builds_every_chapter_before_the_one_named(lab):
    shop = lab.shop.build(before="rds")
    assert shop.chapters_built == CHAPTERS[:CHAPTERS.index("rds")]
    assert lab.client("rds").describe_db_clusters()["DBClusters"] == []
    assert lab.shop.build(before="route53").chapters_built == CHAPTERS[:CHAPTERS.index("rds")]  # nothing more


def test_wrong_chapters_are_refused(lab):
    with pytest.raises(ValueError, match="no chapter 'lambda_'"):
        lab.shop.build("lambda_")
    with pytest.raises(ValueError, match="not both"):
        lab.shop.build("elb", before="rds")


def test_a_build_after_a_reset_starts_over(lab):
    lab.shop.build("elb")
    lab.reset()
    assert lab.shop.built() == ()
    assert lab.client("elbv2").describe_load_balancers()["LoadBalancers"] == []
    assert lab.shop.build("route53").chapters_built == ("route53",)


def _signature(account):
    """The survey's graph, with instance ids (random in each account) left out."""
    nodes, edges = account.signature()

    def keep(node_id):
        return "i-" not in node_id
    return ({n for n in nodes if keep(n[0])}, {e for e in edges if keep(e[0]) and keep(e[1])})


def test_the_cloudformation_deployment_gives_the_same_account_as_the_boto3_build(lab):
    from labkit.notebook import account

    lab.shop.build()
    built = account.survey()
    lab.reset()
    deployed_shop = lab.shop.deploy("shop")
    deployed = account.survey()
    assert _signature(deployed) == _signature(built)
    assert {n for n in deployed.names() if not n.startswith("i-")} == {n for n in built.names() if not n.startswith("i-")}
    assert len(_signature(built)[0]) > 25  # the whole shop was surveyed, not an empty account
    # what labkit filled is said, and is not a stack resource
    stack = {r["LogicalResourceId"] for r in lab.client("cloudformation").describe_stack_resources(StackName="shop")[
        "StackResources"]}
    assert {"Cache", "Database", "AlbAlarm", "Trail", "CartService"} <= set(deployed_shop.filled)
    assert not stack & set(deployed_shop.filled) and {"Alb", "OrdersFunction", "OrderEvents"} <= stack
    status, body, _ = product(deployed_shop)
    assert status == 200 and body["source"] == "database" and body["cache"] == "miss"


def test_deploying_again_adds_nothing_and_deploying_over_a_boto3_build_is_refused(lab):
    first = lab.shop.deploy("shop", through="elb")
    again = lab.shop.deploy("shop", through="elb")
    assert again.filled == first.filled == ("ShopRecord",) and len(lab.client("elbv2").describe_load_balancers()["LoadBalancers"]) == 1
    lab.reset()
    lab.shop.build("elb")
    with pytest.raises(ValueError, match="already built"):
        lab.shop.deploy("shop")


def test_the_template_names_every_gap_that_moto_still_has():
    from moto.cloudformation.parsing import get_model_map

    supported = set(get_model_map())
    body = template(network=("vpc-1", ["subnet-1", "subnet-2"]), ami="ami-1")
    kinds = {r["Type"] for r in body["Resources"].values()}
    # every type either moto creates, or labkit fills for a reason it says
    assert kinds <= supported | set(FILLED)
    # the types said to have no moto model really have none (if moto adds one, the gap list must change)
    for kind, reason in FILLED.items():
        assert (kind in supported) == ("no model" not in reason), kind
    json.dumps(body)  # a template is JSON
    assert body["Resources"]["Alb"]["Properties"]["Name"] == model.ALB
