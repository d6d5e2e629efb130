"""The no-real-AWS guarantee, end to end.

Every process the suite starts (kernels for nbval, the book build, the grader)
loads tests/netguard/sitecustomize.py, runs with honeypot credentials in the
environment and in a fake ~/.aws, and refuses non-loopback connections. The
suite fails at the end if any attempt was logged (see conftest.py). These tests
check that the guard is really in place and really refuses.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

NETGUARD = Path(__file__).parent / "netguard" / "sitecustomize.py"


def test_child_processes_load_the_guard_and_see_the_honeypot():
    code = "import socket, os, json; print(json.dumps([getattr(socket, 'NETGUARD_ACTIVE', False), os.environ['AWS_PROFILE']]))"
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
