"""The ECS chapter: what its page states, checked through plain boto3 against the sandbox.

The service's own behaviour is in tests/services/test_ecs.py; the lab's wrong
answers are in tests/chapters/wrong_answers/ecs.py (run by test_wrong_answers.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "book" / "ecs.md").read_text()


def fargate(ecs, cpu: str, memory: str) -> str:
    return ecs.register_task_definition(family="sizes", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                                        cpu=cpu, memory=memory,
                                        containerDefinitions=[{"name": "web", "image": "nginx"}]
                                        )["taskDefinition"]["taskDefinitionArn"]


@pytest.mark.parametrize(("cpu", "memory"), [("256", "512"), ("256", "2048"), ("512", "4096"), ("1024", "8192"),
                                             ("2048", "16384"), ("4096", "30720"), ("8192", "61440"),
                                             ("16384", "122880"), ("1 vCPU", "3 GB")])
def test_the_fargate_sizes_the_page_lists_are_accepted(lab, cpu, memory):
    assert fargate(lab.client("ecs"), cpu, memory)


@pytest.mark.parametrize(("cpu", "memory"), [("256", "4096"), ("512", "512"), ("2048", "17408"), ("8192", "18432"),
                                             ("16384", "36864")])
def test_sizes_outside_the_table_are_refused(lab, cpu, memory):
    with pytest.raises(ClientError) as error:
        fargate(lab.client("ecs"), cpu, memory)
    assert error.value.response["Error"]["Message"] == "No Fargate configuration exists for given values."


def test_the_deployment_defaults_the_page_states(lab):
    ecs, ec2 = lab.client("ecs"), lab.client("ec2")
    ecs.create_cluster(clusterName="defaults")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:1]
    service = ecs.create_service(cluster="defaults", serviceName="web", taskDefinition=fargate(ecs, "256", "512"),
                                 desiredCount=1, launchType="FARGATE",
                                 networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}})["service"]
    assert service["deploymentConfiguration"] == {"maximumPercent": 200, "minimumHealthyPercent": 100}
    assert "default 200 %" in PAGE and "default 100 %" in PAGE


def test_a_task_definition_copied_from_aws_s_examples_runs_as_a_placeholder(lab):
    """The page's note: any other image stays RUNNING and answers no traffic."""
    ecs, ec2 = lab.client("ecs"), lab.client("ec2")
    ecs.create_cluster(clusterName="sample")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:1]
    arn = ecs.register_task_definition(
        family="sample-fargate", requiresCompatibilities=["FARGATE"], networkMode="awsvpc", cpu="256", memory="512",
        containerDefinitions=[{"name": "fargate-app", "image": "public.ecr.aws/docker/library/busybox:latest",
                               "essential": True, "entryPoint": ["sh", "-c"], "command": ["sleep 3600"]}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(cluster="sample", taskDefinition=arn, launchType="FARGATE",
                        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets}})["tasks"][0]
    lab.clock.advance(3600)
    assert ecs.describe_tasks(cluster="sample", tasks=[task["taskArn"]])["tasks"][0]["lastStatus"] == "RUNNING"
    assert lab.ecs.image_for("public.ecr.aws/docker/library/busybox:latest") is None
