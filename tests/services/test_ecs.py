"""ECS tasks and services that run (labkit.services.ecs), driven through boto3 and real traffic."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError

from labkit.core import hooks, loopback, seams
from labkit.services import ecs as local
from tests.support.lifecycle import assert_nothing_left_running


def shop_web(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"shop web {environ['PATH_INFO']}".encode()]


class Cluster:
    """A cluster, the default VPC's subnets, clients; helpers that make resources with boto3."""

    def __init__(self, lab: Any, name: str = "shop") -> None:
        self.lab = lab
        self.ecs, self.ec2, self.elb = lab.client("ecs"), lab.client("ec2"), lab.client("elbv2")
        self.name = name
        self.ecs.create_cluster(clusterName=name)
        self.vpc = self.ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
        self.subnets = [s["SubnetId"] for s in self.ec2.describe_subnets()["Subnets"]][:2]
        self.network = {"awsvpcConfiguration": {"subnets": self.subnets}}

    def fargate(self, family: str, image: str, *, port: int = 8080, cpu: str = "256", memory: str = "512",
                **container: Any) -> str:
        spec = {"name": "web", "image": image, "essential": True, "portMappings": [{"containerPort": port}], **container}
        return self.ecs.register_task_definition(family=family, requiresCompatibilities=["FARGATE"],
                                                 networkMode="awsvpc", cpu=cpu, memory=memory,
                                                 containerDefinitions=[spec])["taskDefinition"]["taskDefinitionArn"]

    def run(self, definition: str, **extra: Any) -> dict[str, Any]:
        return self.ecs.run_task(cluster=self.name, taskDefinition=definition, launchType="FARGATE",
                                 networkConfiguration=self.network, **extra)["tasks"][0]

    def task(self, arn: str) -> dict[str, Any]:
        return self.ecs.describe_tasks(cluster=self.name, tasks=[arn])["tasks"][0]

    def service(self, name: str) -> dict[str, Any]:
        return self.ecs.describe_services(cluster=self.name, services=[name])["services"][0]

    def service_tasks(self, name: str) -> list[dict[str, Any]]:
        arns = self.ecs.list_tasks(cluster=self.name, serviceName=name, desiredStatus="RUNNING")["taskArns"]
        return self.ecs.describe_tasks(cluster=self.name, tasks=arns)["tasks"] if arns else []

    def messages(self, name: str) -> list[str]:
        return [e["message"] for e in self.service(name)["events"]]

    def container_instances(self, count: int) -> list[str]:
        found = self.ec2.run_instances(ImageId="ami-12c6146b", MinCount=count, MaxCount=count,
                                       InstanceType="t3.medium")["Instances"]
        for instance in found:
            self.ecs.register_container_instance(
                cluster=self.name, instanceIdentityDocument=json.dumps({"instanceId": instance["InstanceId"]}))
        return [i["InstanceId"] for i in found]


@pytest.fixture()
def cluster(lab: Any) -> Cluster:
    lab.ecs.register_image("shop/web:1", shop_web)
    return Cluster(lab)


def url(lab: Any, task: dict[str, Any], port: int = 8080, path: str = "/") -> str:
    return f"http://{lab.ecs.task_address(task['taskArn'])}:{port}{path}"


# ---- tasks ---------------------------------------------------------------------------------

def test_a_task_goes_provisioning_pending_running_on_the_clock_and_serves(lab, cluster):
    task = cluster.run(cluster.fargate("web", "shop/web:1"))
    assert (task["lastStatus"], task["desiredStatus"]) == ("PROVISIONING", "RUNNING")
    with lab.clock.frozen():
        lab.clock.advance(local.tasks.PROVISIONING_SECONDS)
        assert cluster.task(task["taskArn"])["lastStatus"] == "PENDING"
        with pytest.raises(requests.ConnectionError):
            requests.get(url(lab, task), timeout=5)
        lab.clock.advance(local.tasks.PULL_SECONDS)
        found = cluster.task(task["taskArn"])
    assert found["lastStatus"] == "RUNNING"
    assert found["containers"][0]["networkInterfaces"][0]["privateIpv4Address"] == lab.ecs.task_address(task["taskArn"])
    assert requests.get(url(lab, task, path="/cart"), timeout=5).text == "shop web /cart"
    cluster.ecs.get_waiter("tasks_running").wait(cluster="shop", tasks=[task["taskArn"]])
    assert cluster.task(task["taskArn"])["lastStatus"] == "RUNNING"  # describing does not move it on (moto did)


def test_stop_task_stops_the_app_and_says_who(lab, cluster):
    task = cluster.run(cluster.fargate("web", "shop/web:1"))
    lab.clock.advance(10)
    address = url(lab, task)
    assert requests.get(address, timeout=5).ok
    cluster.ecs.stop_task(cluster="shop", task=task["taskArn"], reason="release 42")
    found = cluster.task(task["taskArn"])
    assert (found["lastStatus"], found["stopCode"], found["stoppedReason"]) == ("STOPPED", "UserInitiated", "release 42")
    with pytest.raises(requests.ConnectionError):
        requests.get(address, timeout=5)


def test_an_app_that_crashes_on_start_stops_the_task_with_aws_s_reason(lab, cluster):
    def needs_database(environment: dict[str, str]) -> Any:
        return shop_web if environment["DATABASE_URL"] else None

    lab.ecs.register_image("shop/web:2", start=needs_database)
    task = cluster.run(cluster.fargate("web", "shop/web:2"))
    lab.clock.advance(10)
    found = cluster.task(task["taskArn"])
    assert found["lastStatus"] == "STOPPED"
    assert (found["stopCode"], found["stoppedReason"]) == ("EssentialContainerExited", "Essential container in task exited")
    assert found["containers"][0]["exitCode"] == 1
    assert "KeyError: 'DATABASE_URL'" in lab.ecs.app_errors(task["taskArn"])["web"][0]
    # the same image with its environment runs; a job that finishes exits 0
    fixed = cluster.run(cluster.fargate("web", "shop/web:2",
                                        environment=[{"name": "DATABASE_URL", "value": "postgres://db"}]))
    lab.ecs.register_image("shop/report:1", start=lambda env: None)
    job = cluster.run(cluster.fargate("report", "shop/report:1"))
    lab.clock.advance(10)
    assert requests.get(url(lab, fixed), timeout=5).ok
    assert cluster.task(job["taskArn"])["containers"][0]["exitCode"] == 0
    assert cluster.task(job["taskArn"])["stoppedReason"] == "Essential container in task exited"


def test_a_system_exit_code_and_a_process_larger_than_its_memory(lab, cluster):
    def refuses(environment: dict[str, str]) -> Any:
        raise SystemExit(3)

    lab.ecs.register_image("shop/exit:1", start=refuses)
    lab.ecs.register_image("shop/big:1", shop_web, memory_mib=900)
    exits = cluster.run(cluster.fargate("exit", "shop/exit:1"))
    big = cluster.run(cluster.fargate("big", "shop/big:1", memory="512"))
    fits = cluster.run(cluster.fargate("fits", "shop/big:1", memory="1024"))
    lab.clock.advance(10)
    assert cluster.task(exits["taskArn"])["containers"][0]["exitCode"] == 3
    found = cluster.task(big["taskArn"])
    assert found["stoppedReason"] == "OutOfMemoryError: Container killed due to memory usage"
    assert found["containers"][0]["exitCode"] == 137
    assert cluster.task(fits["taskArn"])["lastStatus"] == "RUNNING"


def test_nginx_and_httpd_stand_ins_and_a_placeholder_for_any_other_image(lab, cluster):
    nginx = cluster.run(cluster.fargate("nginx", "public.ecr.aws/nginx/nginx:1.27", port=80))
    httpd = cluster.run(cluster.fargate("httpd", "public.ecr.aws/docker/library/httpd:latest", port=80))
    other = cluster.run(cluster.fargate("other", "amazon/amazon-ecs-sample", port=80))
    lab.clock.advance(10)
    page = requests.get(url(lab, nginx, 80), timeout=5)
    assert "Welcome to nginx!" in page.text and page.headers["Server"] == "nginx"
    assert "It works!" in requests.get(url(lab, httpd, 80), timeout=5).text
    assert cluster.task(other["taskArn"])["lastStatus"] == "RUNNING"
    with pytest.raises(requests.ConnectionError):
        requests.get(url(lab, other, 80), timeout=5)
    assert lab.ecs.image_for("docker.io/library/nginx") is lab.ecs.image_for("nginx:latest")
    assert lab.ecs.image_for("123456789012.dkr.ecr.us-east-1.amazonaws.com/shop/web:1") is not None


def test_moto_s_keyerror_without_security_groups_is_fixed(lab, cluster):
    """run_task and create_service without securityGroups: AWS uses the VPC's default group."""
    definition = cluster.fargate("web", "shop/web:1")
    task = cluster.run(definition)
    default = cluster.ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [cluster.vpc]}, {"Name": "group-name", "Values": ["default"]}])
    eni = cluster.ec2.describe_network_interfaces(
        NetworkInterfaceIds=[d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId"])
    assert eni["NetworkInterfaces"][0]["Groups"][0]["GroupId"] == default["SecurityGroups"][0]["GroupId"]
    service = cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=definition, desiredCount=1,
                                         launchType="FARGATE", networkConfiguration=cluster.network)["service"]
    assert service["status"] == "ACTIVE"


def test_a_fargate_service_starts_its_tasks_and_the_waiter_returns(lab, cluster):
    definition = cluster.fargate("web", "shop/web:1")
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=definition, desiredCount=2,
                               launchType="FARGATE", networkConfiguration=cluster.network)
    lab.clock.advance(10)
    lab.clock.advance(40)  # a task without a load balancer counts as healthy 40 s after it runs
    cluster.ecs.get_waiter("services_stable").wait(cluster="shop", services=["web"],
                                                   WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    service = cluster.service("web")
    assert (service["runningCount"], service["pendingCount"], len(service["deployments"])) == (2, 0, 1)
    assert service["deployments"][0]["rolloutState"] == "COMPLETED"
    assert service["events"][0]["message"] == "(service web) has reached a steady state."
    assert service["events"][1]["message"].startswith("(service web) has started 2 tasks: (task ")
    assert len(cluster.service_tasks("web")) == 2
    assert all(t["group"] == "service:web" for t in cluster.service_tasks("web"))


def test_a_stopped_task_is_replaced_and_the_events_say_so(lab, cluster):
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=cluster.fargate("web", "shop/web:1"),
                               desiredCount=2, launchType="FARGATE", networkConfiguration=cluster.network)
    lab.clock.advance(10)
    victim = cluster.service_tasks("web")[0]["taskArn"]
    cluster.ecs.stop_task(cluster="shop", task=victim)
    assert cluster.service("web")["runningCount"] == 1
    lab.clock.advance(10)
    lab.clock.advance(40)
    running = cluster.service_tasks("web")
    assert len(running) == 2 and victim not in {t["taskArn"] for t in running}
    assert all(t["lastStatus"] == "RUNNING" for t in running)
    messages = cluster.messages("web")
    assert messages[0] == "(service web) has reached a steady state."
    assert any(m.startswith("(service web) has started 1 tasks:") for m in messages)
    assert any(m.startswith("(service web) has stopped 1 running tasks:") for m in messages)


def test_a_service_whose_app_crashes_keeps_trying_and_says_it_cannot_start(lab, cluster):
    lab.ecs.register_image("shop/broken:1", start=lambda env: 1 / 0)
    cluster.ecs.create_service(cluster="shop", serviceName="web",
                               taskDefinition=cluster.fargate("web", "shop/broken:1"), desiredCount=1,
                               launchType="FARGATE", networkConfiguration=cluster.network)
    lab.clock.advance(600)
    service = cluster.service("web")
    assert service["runningCount"] == 0
    assert service["deployments"][0]["failedTasks"] >= 3
    assert "(service web) is unable to consistently start tasks successfully." in cluster.messages("web")


def test_a_rolling_deployment_replaces_every_task_within_the_percentages(lab, cluster):
    lab.ecs.register_image("shop/web:2", lambda e, s: (s("200 OK", []), [b"v2"])[1])
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=cluster.fargate("web", "shop/web:1"),
                               desiredCount=4, launchType="FARGATE", networkConfiguration=cluster.network,
                               deploymentConfiguration={"maximumPercent": 150, "minimumHealthyPercent": 50})
    lab.clock.advance(10)
    v2 = cluster.fargate("web", "shop/web:2")
    cluster.ecs.update_service(cluster="shop", service="web", taskDefinition=v2)
    service = cluster.service("web")
    assert [d["status"] for d in service["deployments"]] == ["PRIMARY", "ACTIVE"]
    live = service["runningCount"] + service["pendingCount"]
    assert 2 <= live <= 6  # never more than 150 % of 4, never fewer than 50 % healthy
    for _ in range(10):
        lab.clock.advance(10)
    service = cluster.service("web")
    assert len(service["deployments"]) == 1 and service["deployments"][0]["taskDefinition"] == v2
    assert {t["taskDefinitionArn"] for t in cluster.service_tasks("web")} == {v2}
    assert service["runningCount"] == 4


def test_an_ec2_service_is_placed_on_container_instances_and_a_deployment_with_no_room_stays_stuck(lab, cluster):
    cluster.container_instances(2)
    spec = {"name": "web", "image": "shop/web:1", "memory": 256, "portMappings": [{"containerPort": 8080, "hostPort": 80}]}
    v1 = cluster.ecs.register_task_definition(family="web", containerDefinitions=[spec])["taskDefinition"]
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=v1["taskDefinitionArn"],
                               desiredCount=2, launchType="EC2")
    lab.clock.advance(10)
    tasks = cluster.service_tasks("web")
    assert len(tasks) == 2 and len({t["containerInstanceArn"] for t in tasks}) == 2
    address = lab.ecs.task_address(tasks[0]["taskArn"])
    assert requests.get(f"http://{address}:80/", timeout=5).text == "shop web /"
    v2 = cluster.ecs.register_task_definition(family="web", containerDefinitions=[spec])["taskDefinition"]
    cluster.ecs.update_service(cluster="shop", service="web", taskDefinition=v2["taskDefinitionArn"])
    lab.clock.advance(120)
    service = cluster.service("web")
    assert len(service["deployments"]) == 2 and service["runningCount"] == 2
    assert any("was unable to place a task because no container instance met all of its requirements. The closest "
               "matching (container-instance" in m and "is already using a port required by your task." in m
               for m in cluster.messages("web"))
    # the fix: let one old task go first
    cluster.ecs.update_service(cluster="shop", service="web",
                               deploymentConfiguration={"minimumHealthyPercent": 50, "maximumPercent": 200})
    for _ in range(12):
        lab.clock.advance(30)
    service = cluster.service("web")
    assert len(service["deployments"]) == 1 and service["runningCount"] == 2
    assert {t["taskDefinitionArn"] for t in cluster.service_tasks("web")} == {v2["taskDefinitionArn"]}


def test_the_ec2_launch_type_needs_container_instances(lab, cluster):
    spec = {"name": "web", "image": "shop/web:1", "memory": 256}
    definition = cluster.ecs.register_task_definition(family="web", containerDefinitions=[spec])["taskDefinition"]
    with pytest.raises(ClientError) as error:
        cluster.ecs.run_task(cluster="shop", taskDefinition="web", launchType="EC2")
    assert error.value.response["Error"]["Code"] == "InvalidParameterException"
    assert error.value.response["Error"]["Message"] == "No Container Instances were found in your cluster."
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=definition["taskDefinitionArn"],
                               desiredCount=1, launchType="EC2")
    assert any(m.endswith("Reason: No Container Instances were found in your cluster. For more information, see the "
                          "Troubleshooting section of the Amazon ECS Developer Guide.") for m in cluster.messages("web"))
    with pytest.raises(ClientError) as error:
        cluster.ecs.run_task(cluster="shop", taskDefinition="web", launchType="FARGATE", networkConfiguration=cluster.network)
    assert error.value.response["Error"]["Message"] == "Task definition does not support launch_type FARGATE."


def test_run_task_reports_the_tasks_it_could_not_place(lab, cluster):
    cluster.container_instances(1)
    spec = {"name": "web", "image": "shop/web:1", "memory": 256, "portMappings": [{"containerPort": 8080, "hostPort": 80}]}
    cluster.ecs.register_task_definition(family="web", containerDefinitions=[spec])
    answer = cluster.ecs.run_task(cluster="shop", taskDefinition="web", launchType="EC2", count=2)
    assert len(answer["tasks"]) == 1
    assert [f["reason"] for f in answer["failures"]] == ["RESOURCE:PORTS"]


@pytest.mark.parametrize(("cpu", "memory", "mode", "message"), [
    ("256", "4096", "awsvpc", "No Fargate configuration exists for given values."),
    ("300", "512", "awsvpc", "Invalid 'cpu' setting for task."),
    ("256", "512", "bridge", "Fargate only supports network mode 'awsvpc'."),
    (None, "512", "awsvpc", "Fargate requires that 'cpu' be defined at the task level."),
])
def test_fargate_task_definitions_get_aws_s_answers(lab, cluster, cpu, memory, mode, message):
    params: dict[str, Any] = {"family": "web", "requiresCompatibilities": ["FARGATE"], "networkMode": mode,
                              "memory": memory, "containerDefinitions": [{"name": "web", "image": "nginx"}]}
    if cpu:
        params["cpu"] = cpu
    with pytest.raises(ClientError) as error:
        cluster.ecs.register_task_definition(**params)
    assert (error.value.response["Error"]["Code"], error.value.response["Error"]["Message"]) == ("ClientException", message)
    assert cluster.ecs.register_task_definition(**{**params, "cpu": "1024", "memory": "2048", "networkMode": "awsvpc"})


def test_a_service_behind_an_alb_serves_through_the_dns_name_and_drains_on_stop(lab, cluster):
    lb = cluster.elb.create_load_balancer(Name="shop", Subnets=cluster.subnets)["LoadBalancers"][0]
    group = cluster.elb.create_target_group(Name="web", Protocol="HTTP", Port=8080, VpcId=cluster.vpc, TargetType="ip",
                                            HealthCheckIntervalSeconds=10)["TargetGroups"][0]["TargetGroupArn"]
    cluster.elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=cluster.fargate("web", "shop/web:1"),
                               desiredCount=2, launchType="FARGATE", networkConfiguration=cluster.network,
                               loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}])
    lab.clock.advance(10)
    lab.clock.advance(20)
    health = cluster.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    addresses = {lab.ecs.task_address(t["taskArn"]) for t in cluster.service_tasks("web")}
    assert {h["Target"]["Id"] for h in health} == addresses and {h["Target"]["Port"] for h in health} == {8080}
    assert {h["TargetHealth"]["State"] for h in health} == {"healthy"}
    assert requests.get("http://" + lb["DNSName"] + "/cart", timeout=5).text == "shop web /cart"
    assert cluster.service("web")["events"][0]["message"] == "(service web) has reached a steady state."
    victim = cluster.service_tasks("web")[0]
    cluster.ecs.stop_task(cluster="shop", task=victim["taskArn"])
    states = {h["Target"]["Id"]: h["TargetHealth"]["State"]
              for h in cluster.elb.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]}
    assert states[lab.ecs.task_address(victim["taskArn"])] == "draining"
    for _ in range(5):
        assert requests.get("http://" + lb["DNSName"] + "/", timeout=5).ok
    lab.clock.advance(30)
    assert cluster.service("web")["runningCount"] == 2


def test_a_task_its_target_group_finds_unhealthy_is_replaced(lab, cluster):
    lb = cluster.elb.create_load_balancer(Name="shop", Subnets=cluster.subnets)["LoadBalancers"][0]
    group = cluster.elb.create_target_group(Name="web", Protocol="HTTP", Port=8080, VpcId=cluster.vpc, TargetType="ip",
                                            HealthCheckPath="/health", HealthCheckIntervalSeconds=10,
                                            UnhealthyThresholdCount=2)["TargetGroups"][0]["TargetGroupArn"]
    cluster.elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])

    def no_health(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("404 Not Found" if environ["PATH_INFO"] == "/health" else "200 OK", [])
        return [b""]

    lab.ecs.register_image("shop/nohealth:1", no_health)
    cluster.ecs.create_service(cluster="shop", serviceName="web",
                               taskDefinition=cluster.fargate("web", "shop/nohealth:1"), desiredCount=1,
                               launchType="FARGATE", networkConfiguration=cluster.network,
                               loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}])
    first = None
    for _ in range(8):
        lab.clock.advance(10)
        first = first or next(iter(cluster.service_tasks("web")), None)
    stopped = cluster.task(first["taskArn"])
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["stoppedReason"] == f"Task failed ELB health checks in (target-group {group})"


@pytest.mark.parametrize("thread_time", [True, False], ids=["thread_time", "no-thread_time-as-in-pyodide"])
def test_cpu_and_memory_utilization_reach_cloudwatch(lab, cluster, thread_time, monkeypatch):
    if not thread_time:  # Pyodide's time module has none: a task's CPU is then the process's
        import time

        monkeypatch.delattr(time, "thread_time")
    def busy(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        total = sum(i * i for i in range(200_000))
        start_response("200 OK", [])
        return [str(total).encode()]

    lab.ecs.register_image("shop/busy:1", busy, memory_mib=256)
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=cluster.fargate("web", "shop/busy:1"),
                               desiredCount=1, launchType="FARGATE", networkConfiguration=cluster.network)
    lab.clock.advance(10)
    lab.ecs.flush_metrics()
    task = cluster.service_tasks("web")[0]
    for _ in range(20):
        requests.get(url(lab, task), timeout=5)
    cloudwatch = lab.client("cloudwatch")
    dimensions = [{"Name": "ClusterName", "Value": "shop"}, {"Name": "ServiceName", "Value": "web"}]
    from datetime import datetime, timedelta, timezone

    now = datetime.fromtimestamp(lab.clock.now(), timezone.utc)
    stats = {name: cloudwatch.get_metric_statistics(Namespace="AWS/ECS", MetricName=name, Dimensions=dimensions,
                                                    StartTime=now - timedelta(hours=1), EndTime=now + timedelta(minutes=5),
                                                    Period=60, Statistics=["Maximum"])["Datapoints"]
             for name in ("CPUUtilization", "MemoryUtilization")}
    assert max(p["Maximum"] for p in stats["CPUUtilization"]) > 0
    assert max(p["Maximum"] for p in stats["MemoryUtilization"]) == 50.0  # 256 MiB of the task's 512


def test_every_seam_is_where_the_service_expects_it(lab, cluster):
    from moto.ecs.models import EC2ContainerServiceBackend, ecs_backends

    assert seams.check(local.SEAMS) == []
    patched = [s.path for s in local.SEAMS if s.patched]
    assert set(patched) <= set(seams.patched()) and len(patched) == 3
    backend = ecs_backends[lab.account_id][lab.region]
    assert isinstance(backend, EC2ContainerServiceBackend)
    assert hasattr(backend, "services") and hasattr(backend, "container_instances")
    task = cluster.run(cluster.fargate("web", "shop/web:1"))
    record = backend.tasks["shop"][task["taskArn"]]
    assert record.advance is local.tasks._stay and record.last_status == "PROVISIONING"


def test_reset_stops_every_task_and_forgets_every_service(lab, cluster):
    cluster.ecs.create_service(cluster="shop", serviceName="web", taskDefinition=cluster.fargate("web", "shop/web:1"),
                               desiredCount=2, launchType="FARGATE", networkConfiguration=cluster.network)
    lab.clock.advance(10)
    assert len(loopback.live_servers()) == 2
    lab.reset()
    assert_nothing_left_running()
    assert local.services.services() == [] and local.tasks.runs() == [] and lab.ecs.registered_images() == {}


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.ecs, labkit.core.hooks as h, labkit.core.loopback as l; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}), len(l.live_servers()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_install_subscribes_once(lab):
    lab.ecs.install()
    lab.ecs.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("after", "ecs", "CreateService"), [])]
    assert subscribers.count(local._after_create_service) == 1
