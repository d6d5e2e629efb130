"""Test-suite set-up: every process the suite starts runs offline, with honeypot credentials.

Before any test runs, this file
- puts ``tests/netguard`` on PYTHONPATH, so every kernel, book build and grader
  process refuses non-loopback connections and logs any attempt;
- plants honeypot AWS credentials in the environment and in a fake ``~/.aws``,
  with ``AWS_PROFILE`` pointing at them. A notebook that used them would fail
  (they are not valid anywhere), and labkit must ignore them;
- sets ``LABKIT_STRICT=1`` so a failed check in a lab *source* notebook fails nbval,
  and ``LABKIT_REQUIRE_GRAPHVIZ=1`` so a diagram that cannot be drawn is an error.

At the end of the run the network-guard log must be empty, or the run fails.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NETGUARD = ROOT / "tests" / "netguard"

HONEYPOT_KEY = "HONEYPOT-KEY-DO-NOT-USE"
HONEYPOT_SECRET = "honeypot-secret-that-must-never-be-sent"

collect_ignore_glob = ["fixtures/*"]

# pytest-xdist workers inherit the environment set up by the main process: reuse it.
_inherited = os.environ.get("LABKIT_TEST_HOME")
_home = Path(_inherited) if _inherited else Path(tempfile.mkdtemp(prefix="labkit-home-"))
(_home / ".aws").mkdir(exist_ok=True)
(_home / ".aws" / "credentials").write_text(
    f"[default]\naws_access_key_id = {HONEYPOT_KEY}\naws_secret_access_key = {HONEYPOT_SECRET}\n"
    f"[honeypot]\naws_access_key_id = {HONEYPOT_KEY}\naws_secret_access_key = {HONEYPOT_SECRET}\n"
)
(_home / ".aws" / "config").write_text("[default]\nregion = eu-west-3\n[profile honeypot]\nregion = eu-west-3\n")
NETGUARD_LOG = _home / "netguard.log"
NETGUARD_LOG.touch()

os.environ.update(
    {
        "HOME": str(_home),
        "LABKIT_TEST_HOME": str(_home),
        "AWS_PROFILE": "honeypot",
        "AWS_ACCESS_KEY_ID": HONEYPOT_KEY,
        "AWS_SECRET_ACCESS_KEY": HONEYPOT_SECRET,
        "AWS_DEFAULT_REGION": "eu-west-3",
        "LABKIT_NETGUARD_LOG": str(NETGUARD_LOG),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH", "")])),
        "LABKIT_STRICT": "1",
        "LABKIT_REQUIRE_GRAPHVIZ": "1",
        # Kernels find their own interpreter's kernelspec, whatever HOME says.
        "JUPYTER_PLATFORM_DIRS": "1",
    }
)
# Guard this process too (it was started before PYTHONPATH changed).
sys.path.insert(0, str(NETGUARD))
import sitecustomize  # noqa: E402,F401  (the guard, see tests/netguard)

if not getattr(__import__("socket"), "NETGUARD_ACTIVE", False):  # another sitecustomize won
    import importlib.util

    _spec = importlib.util.spec_from_file_location("labkit_netguard", NETGUARD / "sitecustomize.py")
    assert _spec and _spec.loader
    _spec.loader.exec_module(importlib.util.module_from_spec(_spec))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    attempts = NETGUARD_LOG.read_text(encoding="utf-8") if NETGUARD_LOG.exists() else ""
    if attempts.strip() and not hasattr(session.config, "workerinput"):
        sys.stderr.write(
            "\nNETWORK GUARD: something in the test run tried to reach the network "
            "(only loopback is allowed):\n" + attempts[:5000] + "\n"
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


#: The environment every test item starts from: honeypot included.
_TEST_ENVIRONMENT = dict(os.environ)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """labkit.start() rewrites os.environ in-process (in a test, or in a fixture
    shared by a module). Put the honeypot back before every item, nbval cells
    included, so that every kernel this worker starts still sees it."""
    os.environ.clear()
    os.environ.update(_TEST_ENVIRONMENT)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Group tests for pytest-xdist (``--dist loadgroup``): one group per file, so a
    notebook's nbval cells share a kernel and a module's fixtures are built once,
    except in modules that set ``SPREAD = True``, whose tests are spread one by one."""
    for item in items:
        module = getattr(item, "module", None)
        spread = bool(getattr(module, "SPREAD", False)) if module is not None else False
        group = item.nodeid if spread else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(name=group))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session: pytest.Session) -> None:
    """Fail loudly if pytest-xdist ignored the groups: a notebook's nbval cells would then
    be split across workers, each with its own kernel, and fail for no reason of their own."""
    if getattr(session.config.option, "loadgroup", False) and session.items and "@" not in session.items[0].nodeid:
        pytest.exit("pytest-xdist did not apply --dist loadgroup (pytest 9 breaks it): "
                    "install the versions in requirements.txt", returncode=3)


# ---------------------------------------------------------------------------
# Shared fixtures: one sandbox, one Lambda role, clients.
# ---------------------------------------------------------------------------

LAMBDA_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


@pytest.fixture()
def lab():
    """The sandbox, wiped clean for this test (``labkit.start(reset=True)``)."""
    import labkit

    return labkit.start(reset=True)


@pytest.fixture()
def lambda_role(lab) -> str:
    """The ARN of an execution role that Lambda may assume."""
    import json

    iam = lab.client("iam")
    return iam.create_role(RoleName="labkit-test-role",
                           AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST_POLICY))["Role"]["Arn"]


@pytest.fixture()
def aws(lab):
    """Clients by service name, made on first use: ``aws["sqs"].create_queue(...)``."""

    class _Clients(dict):
        def __missing__(self, service: str):
            self[service] = lab.client(service)
            return self[service]

    return _Clients()
