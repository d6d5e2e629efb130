"""The lab sandbox: one emulated AWS account that lives in this Python process.

Every notebook in the course starts with::

    import labkit
    lab = labkit.start()

``start()`` does four things, in this order:

1. It replaces whatever AWS credentials the process could find (environment
   variables, ``AWS_PROFILE``, ``~/.aws/credentials`` and ``~/.aws/config``)
   with obviously fake ones, and pins the region. Your real account, if you
   have one, is never read.
2. It starts moto's ``mock_aws`` once for the process, with Step Functions
   execution turned on, so boto3 calls are answered by a local emulation.
3. It installs :mod:`labkit.offline`, which refuses any request that the
   emulation did not answer before it can leave the machine, and the
   behaviours moto lacks: Lambda code that really runs
   (:mod:`labkit.lambda_runtime`), and the simulated data planes of SNS,
   ElastiCache, RDS/Aurora and DynamoDB (:data:`DATA_PLANES`).
4. It returns a :class:`Sandbox` handle: account id, region, a client factory
   and ``reset()``.

Running the cell again returns the same sandbox with everything you created
still there. ``labkit.start(reset=True)`` wipes the account and starts clean.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.client

from labkit import offline

#: The region every lab uses. moto emulates all regions; one is enough to learn.
REGION = "us-east-1"
#: moto's default account id.
ACCOUNT_ID = "123456789012"

#: The fake credentials. They are not secret and could never sign a real request.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

#: Variables that could point boto3 at a real account, profile or endpoint.
_REMOVED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SECURITY_TOKEN",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
)

#: moto settings: Step Functions really executes state machines, and Lambda
#: never tries to reach a Docker engine (see :mod:`labkit.lambda_runtime`).
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
    "core": {"mock_credentials": False, "reset_boto3_session": True},
}


@dataclass
class Sandbox:
    """A handle on the emulated account.

    Attributes:
        region: the AWS region every client is created in.
        account_id: the emulated account's 12-digit id.
    """

    region: str = REGION
    account_id: str = ACCOUNT_ID
    _session: boto3.session.Session | None = field(default=None, repr=False)

    def session(self) -> boto3.session.Session:
        """A boto3 session bound to the sandbox's region and fake credentials."""
        if self._session is None:
            self._session = boto3.session.Session(region_name=self.region)
        return self._session

    def client(self, service: str, **kwargs: Any) -> botocore.client.BaseClient:
        """``boto3.client(service)`` in the sandbox's region. Same as writing
        ``boto3.client(service, region_name="us-east-1")`` yourself."""
        kwargs.setdefault("region_name", self.region)
        return self.session().client(service, **kwargs)  # type: ignore[no-any-return]

    def resource(self, service: str, **kwargs: Any) -> Any:
        """``boto3.resource(service)`` in the sandbox's region."""
        kwargs.setdefault("region_name", self.region)
        return self.session().resource(service, **kwargs)

    def arn(self, service: str, resource: str) -> str:
        """Build an ARN in this account and region, e.g. ``arn("sqs", "orders")``."""
        return f"arn:aws:{service}:{self.region}:{self.account_id}:{resource}"

    def reset(self) -> None:
        """Delete everything in the emulated account (all services, all regions)."""
        _mock().reset()
        self._session = None


_MOCK: Any = None
_SANDBOX: Sandbox | None = None


def _mock() -> Any:
    if _MOCK is None:
        raise RuntimeError("The sandbox is not running: call labkit.start() first.")
    return _MOCK


def isolate_credentials(region: str = REGION) -> None:
    """Make this process unable to find any real AWS credentials.

    Sets fake keys and the region, removes profile and role variables, points
    the shared config and credentials files at an empty file, and turns off
    the EC2 instance metadata lookup (which would otherwise be a network call).
    """
    for name in _REMOVED_VARIABLES:
        os.environ.pop(name, None)
    for name in list(os.environ):
        # AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> would redirect clients.
        if name.startswith("AWS_ENDPOINT_URL"):
            del os.environ[name]
    os.environ.update(FAKE_CREDENTIALS)
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_REGION"] = region
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # A default session created before this call may hold real credentials.
    boto3.DEFAULT_SESSION = None


def start(reset: bool = False, region: str = REGION) -> Sandbox:
    """Start (or rejoin) the offline AWS sandbox and return its handle.

    Args:
        reset: wipe every resource created so far and start clean.
        region: the region for clients made through the handle and for the
            ``AWS_DEFAULT_REGION`` of plain ``boto3.client(...)`` calls.

    Returns:
        The :class:`Sandbox`. Calling ``start()`` again returns the same one,
        with its state kept, unless ``reset=True``.
    """
    global _MOCK, _SANDBOX
    isolate_credentials(region)
    offline.install()
    if _MOCK is None:
        from moto import mock_aws  # imported here: it takes ~0.2 s

        _MOCK = mock_aws(config=MOTO_CONFIG)  # type: ignore[arg-type]
        _MOCK.start()
        from labkit import moto_seams  # Lambda functions really run (labkit.lambda_runtime)

        moto_seams.install()
        _install_data_planes()
        # moto's ASL interpreter logs a full traceback for every error a state
        # machine catches; the execution history reports each error anyway.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        _SANDBOX = Sandbox(region=region)
    assert _SANDBOX is not None
    if region != _SANDBOX.region:
        _SANDBOX = Sandbox(region=region)
    if reset:
        _SANDBOX.reset()
    return _SANDBOX


Handler = tuple[str, Any]


def register_handlers(handlers: tuple[Handler, ...] | list[Handler]) -> None:
    """Add botocore event handlers for every client made from now on. Idempotent.

    This is how labkit's simulated data planes listen to boto3 calls without
    patching moto: each ``(event name, function)`` pair is appended to botocore's
    ``BUILTIN_HANDLERS``, which every new session copies. Sessions made earlier
    (boto3's default session, the sandbox's own) are dropped so that the next
    client picks the handlers up.
    """
    from botocore.handlers import BUILTIN_HANDLERS

    for entry in handlers:
        if entry not in BUILTIN_HANDLERS:
            BUILTIN_HANDLERS.append(entry)
    boto3.DEFAULT_SESSION = None
    if _SANDBOX is not None:
        _SANDBOX._session = None


def handlers_registered(handlers: tuple[Handler, ...] | list[Handler]) -> bool:
    """True when every handler is registered."""
    from botocore.handlers import BUILTIN_HANDLERS

    return all(entry in BUILTIN_HANDLERS for entry in handlers)


#: The simulated behaviours moto lacks, each in its own module, all driven by
#: botocore event handlers (see each module's docstring).
DATA_PLANES = ("sns", "elasticache", "rds", "dynamodb")


def _install_data_planes() -> None:
    """Register every simulated data plane before the first client is made."""
    import importlib

    for name in DATA_PLANES:
        importlib.import_module(f"labkit.{name}").install()


def running() -> bool:
    """True once :func:`start` has been called in this process."""
    return _MOCK is not None
