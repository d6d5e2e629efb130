"""Wrong answers to the ECS lab."""

from tests.chapters.wrong_answers import Wrong

WRONG = [
    Wrong("service", "a service that never joins the target group",
          source='''
def create_web_service(cluster: str, name: str, target_group_arn: str, count: int) -> str:
    definition = web_task_definition(name)
    return ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=definition, desiredCount=count,
                              launchType="FARGATE", networkConfiguration=NETWORK)["service"]["serviceArn"]
''', loses=("answers with the shop's page", "two tasks answer")),
    Wrong("service", "two tasks started by hand and registered as targets",
          source='''
def create_web_service(cluster: str, name: str, target_group_arn: str, count: int) -> str:
    definition = web_task_definition(name)
    started = ecs.run_task(cluster=cluster, taskDefinition=definition, launchType="FARGATE", count=count,
                           startedBy=name, networkConfiguration=NETWORK)["tasks"]
    lab.clock.advance(30)
    for task in ecs.describe_tasks(cluster=cluster, tasks=[t["taskArn"] for t in started])["tasks"]:
        address = task["containers"][0]["networkInterfaces"][0]["privateIpv4Address"]
        elb.register_targets(TargetGroupArn=target_group_arn, Targets=[{"Id": address, "Port": 8080}])
    return started[0]["taskArn"]
''', loses=("is replaced",)),
    Wrong("service", "one task whatever the count",
          source='''
def create_web_service(cluster: str, name: str, target_group_arn: str, count: int) -> str:
    definition = web_task_definition(name)
    return ecs.create_service(
        cluster=cluster, serviceName=name, taskDefinition=definition, desiredCount=1, launchType="FARGATE",
        networkConfiguration=NETWORK,
        loadBalancers=[{"targetGroupArn": target_group_arn, "containerName": "web", "containerPort": 8080}],
    )["service"]["serviceArn"]
''', loses=("two tasks answer",), hidden_too=True),
    Wrong("stuck", "fewer tasks: the desired count lowered to 1",
          source='''
def unstick(cluster: str, service: str) -> None:
    ecs.update_service(cluster=cluster, service=service, desiredCount=1)
''', loses=("still runs 2 tasks",)),
    Wrong("stuck", "more room by percentage, where the instances have none",
          source='''
def unstick(cluster: str, service: str) -> None:
    ecs.update_service(cluster=cluster, service=service,
                       deploymentConfiguration={"maximumPercent": 400, "minimumHealthyPercent": 100})
''', loses=("the deployment completes",)),
    Wrong("stuck", "minimum healthy 0: every old task stopped at once",
          source='''
def unstick(cluster: str, service: str) -> None:
    ecs.update_service(cluster=cluster, service=service,
                       deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 0})
''', loses=("at every moment",)),
    Wrong("size", "memory rounded down to whole GB",
          source='''
def choose_task_size(memory_mib: int, vcpus: float) -> tuple[int, int]:
    cpu = 256 if vcpus <= 0.25 else 512 if vcpus <= 0.5 else 1024 if vcpus <= 1 else 2048 if vcpus <= 2 else 4096
    return cpu, max(1024 * (memory_mib // 1024), {256: 512, 512: 1024, 1024: 2048, 2048: 4096, 4096: 8192}[cpu])
''', loses=("stays up",)),
    Wrong("size", "the largest size, to be safe",
          source='''
def choose_task_size(memory_mib: int, vcpus: float) -> tuple[int, int]:
    return 4096, 30720
''', loses=("costs less",), hidden_too=True),
    Wrong("size", "the smallest CPU with memory rounded up, whatever the CPU needed",
          source='''
def choose_task_size(memory_mib: int, vcpus: float) -> tuple[int, int]:
    return 256, 1024 * -(-memory_mib // 1024)
''', loses=("Fargate accepts", "has the CPU")),
]
