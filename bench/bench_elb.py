"""What does a hop through the Application Load Balancer cost? (A benchmark, not a test.)

Prints the median latency of a GET with a keep-alive ``requests.Session``:

* **direct**: to a target served on 127.0.0.1 (the floor: what the request
  costs without a load balancer);
* **through the ALB**: the same request to the load balancer's ``DNSName``,
  which resolves in the sandbox, routes by the listener's rules (a path rule
  and the default rule), adds the ``X-Forwarded-*`` headers and forwards to
  the same target over a kept connection;

and the ratio of the two (the goal is at most 1.5x).

Run: ``.venv/bin/python bench/bench_elb.py [rounds]``
"""

from __future__ import annotations

import sys

import requests
from common import median_ms

import labkit
from labkit.core.httpfront import HttpFront, HttpRequest, HttpResponse


def main(rounds: int = 300) -> None:
    lab = labkit.start(reset=True)
    ec2, elb = lab.client("ec2"), lab.client("elbv2")
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]

    def storefront(request: HttpRequest) -> HttpResponse:
        return HttpResponse.json(200, {"page": request.path})

    target = HttpFront(storefront, name="bench-target")
    lb = elb.create_load_balancer(Name="bench", Subnets=subnets)["LoadBalancers"][0]
    tg = elb.create_target_group(Name="web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="ip")
    tg_arn = tg["TargetGroups"][0]["TargetGroupArn"]
    elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "127.0.0.1", "Port": target.port}])
    listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80,
                                   DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    elb.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=10,
                    Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
                    Actions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}])
    with requests.Session() as direct_session, requests.Session() as alb_session:
        direct_url = f"http://127.0.0.1:{target.port}/"
        alb_url = "http://" + lb["DNSName"] + "/"
        assert direct_session.get(direct_url).json() == alb_session.get(alb_url).json() == {"page": "/"}
        direct = median_ms(lambda: direct_session.get(direct_url), rounds)
        through = median_ms(lambda: alb_session.get(alb_url), rounds)
    print(f"rounds per call: {rounds}")
    print(f"direct to the target (floor)   median {direct:7.3f} ms")
    print(f"through the ALB's DNSName      median {through:7.3f} ms")
    print(f"ratio ALB / direct             {through / direct:.2f}x   (goal: at most 1.5x)")
    lab.reset()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
