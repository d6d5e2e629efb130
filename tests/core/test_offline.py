"""The no-real-AWS guarantee, end to end.

Every process the suite starts (kernels for nbval, the book build, the grader)
loads tests/netguard/sitecustomize.py, runs with honeypot credentials in the
environment and in a fake ~/.aws, and refuses non-loopback connections. The
suite fails at the end if any attempt was logged (see tests/harness.py). These
tests check that the guard is really in place and really refuses, and that
labkit's own guard is in place from ``import labkit`` on.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

NETGUARD = Path(__file__).resolve().parents[1] / "netguard" / "sitecustomize.py"


def test_child_processes_load_the_guard_and_see_the_honeypot():
    code = ("import socket, os, json; "
            "print(json.dumps([getattr(socket, 'NETGUARD_ACTIVE', False), os.environ['AWS_PROFILE']]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [True, "honeypot"]
    assert (Path(os.environ["HOME"]) / ".aws" / "credentials").read_text().count("HONEYPOT") == 2


def test_labkit_in_a_fresh_process_ignores_the_honeypot():
    code = (
        "import labkit, boto3, json\n"
        "labkit.start()\n"
        "c = boto3.Session().get_credentials()\n"
        "print(json.dumps([c.access_key, boto3.Session().region_name]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == ["testing", "us-east-1"]


def test_guard_refuses_non_loopback_before_calling_the_real_socket(monkeypatch, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("guard_under_test", NETGUARD)
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)
    attempted = []
    monkeypatch.setattr(guard, "_real_connect", lambda sock, address: attempted.append(address))
    monkeypatch.setattr(guard, "_real_getaddrinfo", lambda *a, **k: attempted.append(a))
    log = tmp_path / "log"
    monkeypatch.setattr(guard, "_LOG", str(log))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(ConnectionRefusedError, match="192.0.2.10:443"):
            guard.connect(sock, ("192.0.2.10", 443))
        guard.connect(sock, ("127.0.0.1", 9))
    with pytest.raises(ConnectionRefusedError, match="name lookup"):
        guard.getaddrinfo("sqs.us-east-1.amazonaws.com", 443)
    guard.getaddrinfo("localhost", 80)
    assert attempted == [("127.0.0.1", 9), ("localhost", 80)]
    assert "192.0.2.10:443" in log.read_text() and "sqs.us-east-1.amazonaws.com" in log.read_text()


BEFORE_START = """
import json, os, socket, sys
from pathlib import Path
{imports}
seen = [os.environ["AWS_ACCESS_KEY_ID"], "HONEYPOT" in (Path.home() / ".aws" / "credentials").read_text(),
        getattr(socket, "NETGUARD_ACTIVE", False)]
try:
    boto3.client("sqs").list_queues()
except Exception as error:
    print(json.dumps(seen + [type(error).__name__, str(error), {is_offline_error}]))
else:
    print(json.dumps(seen + ["no error", "", False]))
"""


def run_before_start(tmp_path: Path, imports: str, is_offline_error: str) -> tuple[list, str]:
    """A boto3 call in a fresh process with the honeypot keys in its environment
    and its ``~/.aws``; returns what it saw and raised, and its network-guard log."""
    log = tmp_path / "netguard.log"
    log.touch()
    code = BEFORE_START.format(imports=imports, is_offline_error=is_offline_error)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "LABKIT_NETGUARD_LOG": str(log)}).stdout
    return json.loads(out.strip().splitlines()[-1]), log.read_text()


def test_after_import_labkit_a_call_before_start_is_refused_and_nothing_leaves(tmp_path):
    seen, log = run_before_start(tmp_path, "import boto3\nimport labkit",
                                 "isinstance(error, labkit.OfflineError)")
    key, in_aws_folder, netguard, error, message, offline_error = seen
    assert key.startswith("HONEYPOT") and in_aws_folder and netguard, "the child had real-looking keys"
    assert (error, offline_error) == ("OfflineError", True), message
    assert "labkit.start()" in message
    assert log == "", f"the call reached for the network:\n{log}"


def test_without_labkit_the_same_call_reaches_for_the_network(tmp_path):
    """The check above can fail: without ``import labkit``, boto3 looks the endpoint up
    (the test network guard refuses it and logs it)."""
    seen, log = run_before_start(tmp_path, "import boto3", "False")
    assert seen[3] == "EndpointConnectionError"
    assert "name lookup of 'sqs.eu-west-3.amazonaws.com'" in log
