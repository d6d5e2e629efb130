"""How much does running a Lambda function in-process cost? (A benchmark, not a test.)

Prints the median latency of three boto3 calls against the sandbox:

* ``lambda.get_function``: a plain boto3 call that moto answers without
  running any function code: the floor every boto3 call pays;
* ``sqs.list_queues``: another floor, from a different service;
* ``lambda.invoke`` of a trivial function, warm (the execution environment is
  reused), which runs the handler in labkit's in-process runtime and writes
  its logs and metrics;

and the ratio of the invoke to the floor (the goal is under 2x).

Run: ``.venv/bin/python bench/bench_lambda.py [rounds]``
"""

from __future__ import annotations

import sys

from common import median_ms

import labkit


def main(rounds: int = 500) -> None:
    lab = labkit.start(reset=True)
    role = lab.client("iam").create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = lab.client("lambda")
    sqs = lab.client("sqs")
    sqs.create_queue(QueueName="bench")
    lam.create_function(
        FunctionName="trivial", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": lab.lambda_.zip_code("def handler(event, context):\n    return {'ok': True}\n")},
    )
    floor = median_ms(lambda: lam.get_function(FunctionName="trivial"), rounds)
    floor_sqs = median_ms(lambda: sqs.list_queues(), rounds)
    invoke = median_ms(lambda: lam.invoke(FunctionName="trivial", Payload=b'{"n": 1}'), rounds)
    print(f"rounds per call: {rounds}")
    print(f"floor  lambda.get_function      median {floor:6.3f} ms")
    print(f"floor  sqs.list_queues          median {floor_sqs:6.3f} ms")
    print(f"lambda.invoke (warm, trivial)   median {invoke:6.3f} ms")
    print(f"ratio invoke / get_function     {invoke / floor:.2f}x   (goal: under 2x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
