"""EC2 instances that serve a web app (labkit.services.ec2), driven through boto3 and real traffic."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import requests

from labkit.core import hooks, loopback, names, seams
from labkit.services import ec2 as local


def hello(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}?{environ['QUERY_STRING']} " \
           f"{environ.get('HTTP_X_SHOP', '-')} {environ['wsgi.input'].read().decode()}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


@pytest.fixture()
def instance(lab: Any) -> dict[str, Any]:
    ec2 = lab.client("ec2")
    found = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[found["InstanceId"]])
    return ec2.describe_instances(InstanceIds=[found["InstanceId"]])["Reservations"][0]["Instances"][0]


def test_the_app_answers_on_the_private_and_public_address(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)
    answer = requests.post(f"http://{instance['PrivateIpAddress']}/cart?id=7", data=b"two", headers={"X-Shop": "s"},
                           timeout=5)
    assert answer.text == "POST /cart?id=7 s two"
    assert requests.get(f"http://{instance['PublicIpAddress']}/", timeout=5).status_code == 200
    assert lab.ec2.url(instance["InstanceId"], "/x") == f"http://{instance['PrivateIpAddress']}/x"


def test_the_app_follows_stop_start_reboot_and_terminate(lab, instance):
    ec2 = lab.client("ec2")
    iid, address = instance["InstanceId"], instance["PrivateIpAddress"]
    lab.ec2.serve(iid, hello, port=8080)
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.stop_instances(InstanceIds=[iid])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:8080/", timeout=5)
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid])
    ec2.start_instances(InstanceIds=[iid])
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid])
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.reboot_instances(InstanceIds=[iid])
    assert requests.get(f"http://{address}:8080/", timeout=5).ok
    ec2.terminate_instances(InstanceIds=[iid])
    assert lab.ec2.served(iid) is None
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:8080/", timeout=5)


def test_an_instance_address_without_an_app_is_refused_not_sent_out(lab, instance):
    assert names.resolve(instance["PrivateIpAddress"]) == [instance["PrivateIpAddress"]]
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{instance['PrivateIpAddress']}/", timeout=5)


def test_an_app_that_raises_is_a_500_and_the_server_keeps_serving(lab, instance):
    calls = []

    def flaky(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first request fails")
        return hello(environ, start_response)

    served = lab.ec2.serve(instance["InstanceId"], flaky)
    url = f"http://{instance['PrivateIpAddress']}/"
    assert requests.get(url, timeout=5).status_code == 500
    assert "first request fails" in served.errors[0]
    assert requests.get(url, timeout=5).status_code == 200


def test_serving_again_replaces_the_app(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)

    def other(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"v2"]

    lab.ec2.serve(instance["InstanceId"], other)
    assert requests.get(f"http://{instance['PrivateIpAddress']}/", timeout=5).text == "v2"
    assert len(loopback.live_servers()) == 1


def test_unknown_or_terminated_instances_and_bad_apps_are_refused(lab, instance):
    with pytest.raises(ValueError, match="no instance"):
        lab.ec2.serve("i-0123456789abcdef0", hello)
    with pytest.raises(TypeError):
        lab.ec2.serve(instance["InstanceId"], "not an app")
    lab.client("ec2").terminate_instances(InstanceIds=[instance["InstanceId"]])
    with pytest.raises(ValueError, match="shutting-down|terminated"):
        lab.ec2.serve(instance["InstanceId"], hello)


def test_every_seam_is_where_the_service_expects_it(lab, instance):
    from moto.ec2.models import ec2_backends

    lab.ec2  # noqa: B018
    assert seams.check(local.SEAMS) == []
    backend = ec2_backends[lab.account_id][lab.region]
    reservation = next(iter(backend.reservations.values()))
    assert hasattr(backend, "reservations") and hasattr(reservation, "instances")


def test_reset_stops_every_app(lab, instance):
    lab.ec2.serve(instance["InstanceId"], hello)
    assert len(loopback.live_servers()) == 1
    lab.reset()
    assert loopback.live_servers() == []
    assert names.bindings() == {}


def test_importing_the_service_installs_nothing():
    code = ("import labkit.services.ec2, labkit.core.hooks as h, labkit.core.loopback as l; "
            "print(sorted({k[1] for k, v in h._SUBSCRIBERS.items() if v}), len(l.live_servers()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[] 0"


def test_install_subscribes_once(lab):
    lab.ec2.install()
    lab.ec2.install()
    subscribers = [fn for fn, _ in hooks._SUBSCRIBERS.get(("before", "ec2", "RunInstances"), [])]
    assert subscribers.count(local.answers.before_run_instances) == 1
