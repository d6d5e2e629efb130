"""The lab sandbox: one emulated AWS account that lives in this Python process.

Every notebook in the course starts with::

    import labkit
    lab = labkit.start()

``import labkit`` already guards botocore (:mod:`labkit.core.offline`).
``start()`` then

1. replaces whatever AWS credentials the process could find (environment
   variables, ``AWS_PROFILE``, ``~/.aws/credentials`` and ``~/.aws/config``)
   with obviously fake ones, and pins the region: your real account, if you
   have one, is never read;
2. starts moto's ``mock_aws`` once for the process, with the configuration the
   services ask for (Step Functions executes, Lambda never looks for Docker),
   and lets the offline guard ask moto first;
3. registers the hook dispatcher (:mod:`labkit.core.hooks`); each simulated
   service installs itself at its first call (:mod:`labkit.core.registry`);
4. returns a :class:`Sandbox` handle: account id, region, a client factory,
   the sandbox clock, ``reset()``, and one attribute per service
   (``lab.rds``, ``lab.dynamodb``...) for the helpers learners use.

Running the cell again returns the same sandbox with everything you created
still there. ``labkit.start(reset=True)`` wipes the account and starts clean.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import boto3
import botocore.client

from labkit.core import aws, hooks, inprocess, loopback, names, nocrypto, offline, platform, registry, threadenv, tls
from labkit.core.aws import ACCOUNT_ID, REGION
from labkit.core.clock import Clock, clock

__all__ = ["ACCOUNT_ID", "FAKE_CREDENTIALS", "REGION", "Sandbox", "isolate_credentials", "running", "start"]

#: The fake credentials. They are not secret and could never sign a real request.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

#: What moto's serializer warns when an error it raises has a code the service's model spells
#: otherwise: SQS's ``AWS.SimpleQueueService.NonExistentQueue`` (the code AWS returns, and the one
#: the client's error carries) for the model's ``QueueDoesNotExist``. A note about moto's own
#: tables, not about the learner's code, so the sandbox does not show it.
MOTO_ERROR_SHAPE_WARNING = r"Exception\(\w+\) with code \S+ does not match an error shape"

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

#: moto settings of the sandbox itself (the services add theirs).
MOTO_CONFIG: dict[str, Any] = {
    "core": {"mock_credentials": False, "reset_boto3_session": True},
}


class Sandbox:
    """A handle on the emulated account.

    Attributes:
        region: the AWS region every client is created in.
        account_id: the emulated account's 12-digit id.
        clock: the sandbox clock (``lab.clock.advance(60)`` moves simulated time).

    Every simulated service is an attribute too: ``lab.rds.connect(...)``,
    ``lab.dynamodb.sweep_expired(...)``. ``lab.services()`` lists them.
    """

    def __init__(self, region: str = REGION, account_id: str = ACCOUNT_ID) -> None:
        self.region = region
        self.account_id = account_id
        self.clock: Clock = clock
        self._session: boto3.session.Session | None = None

    def __repr__(self) -> str:
        return f"Sandbox(region={self.region!r}, account_id={self.account_id!r})"

    def __getattr__(self, name: str) -> ModuleType:
        if name.startswith("_"):
            raise AttributeError(name)
        return registry.ensure(name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(registry.declared()))

    def services(self) -> dict[str, str]:
        """Every service with helpers on this handle, and what it adds."""
        return {name: service.summary for name, service in sorted(registry.declared().items())}

    def diagram(self, title: str | None = None, *, only: str | Sequence[str] | None = None) -> Any:
        """Draw the architecture that exists in the sandbox right now, from
        describe and list calls (``lab.account.draw``): DNS records, load
        balancers and their targets, APIs, functions and their triggers,
        queues, topics, rules, workflows, caches, databases and alarms.
        ``only`` keeps the resources whose names start with it (``"shop"``)."""
        return registry.ensure("account").draw(title=title, only=only)

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
        return aws.make_arn(service, resource, self.region, self.account_id)

    def reset(self) -> None:
        """Delete everything in the emulated account (all services, all regions):
        moto's state, every simulated plane's state, servers and threads, and
        the clock back to real time."""
        _mock().reset()
        registry.reset_all()
        loopback.stop_all()
        names.reset()
        clock.reset()
        aws.forget_clients()
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
    environ = threadenv.process()  # the whole process's, even when a handler's thread calls
    for name in _REMOVED_VARIABLES:
        environ.pop(name, None)
    for name in list(environ):
        # AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> would redirect clients.
        if name.startswith("AWS_ENDPOINT_URL"):
            del environ[name]
    environ.update(FAKE_CREDENTIALS)
    environ["AWS_DEFAULT_REGION"] = region
    environ["AWS_REGION"] = region
    environ["AWS_CONFIG_FILE"] = os.devnull
    environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    environ["AWS_EC2_METADATA_DISABLED"] = "true"
    # A default session created before this call may hold real credentials.
    boto3.DEFAULT_SESSION = None


_LOADERS: dict[str | None, Any] = {}


def share_botocore_data() -> bool:
    """Let every botocore session in this process share one data loader.

    Each botocore session reads the JSON that describes a service (its API
    model, endpoint rules, partitions) through its own loader, which scans the
    data folder of every service first. moto makes sessions of its own, so the
    first call of a lab read all of it three or four times (about a tenth of a
    second of the first cell). The data never changes in a process; one
    loader per data path reads it once. Returns False if botocore no longer
    has the function this relies on (nothing is changed then).
    """
    import botocore.loaders
    import botocore.session

    original = getattr(botocore.loaders, "create_loader", None)
    if original is None or not callable(getattr(botocore.session, "create_loader", None)):
        return False
    if getattr(botocore.session.create_loader, "__labkit_shared__", False):
        return True

    def create_loader(search_path_string: str | None = None) -> Any:
        loader = _LOADERS.get(search_path_string)
        if loader is None:
            loader = _LOADERS[search_path_string] = original(search_path_string)
        return loader

    create_loader.__labkit_shared__ = True  # type: ignore[attr-defined]
    botocore.session.create_loader = create_loader
    # moto reads each service's model through a loader of its own (moto.core.utils imported
    # botocore's create_loader by name): a fresh scan of the data folders per service model.
    import moto.core.utils

    if callable(getattr(moto.core.utils, "create_loader", None)):
        moto.core.utils.create_loader = create_loader
    return True


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
    # On every start: code that saves and restores the warning filters (a test runner) drops it.
    warnings.filterwarnings("ignore", MOTO_ERROR_SHAPE_WARNING, UserWarning, r"moto\.core\.serialize")
    offline.install()
    names.install()
    tls.retrust()
    if _MOCK is None:
        if platform.in_browser():
            nocrypto.install()  # moto imports cryptography, which the browser lacks (a no-op when it is there)
        share_botocore_data()
        from moto import mock_aws  # imported here: it takes ~0.2 s

        config = {**registry.moto_config(), **MOTO_CONFIG}
        _MOCK = mock_aws(config=config)  # type: ignore[arg-type]
        _MOCK.start()
        offline.adopt_moto()
        names.adopt_moto()
        if platform.in_browser():
            inprocess.install()  # requests reaches the sandbox's servers in-process (no sockets there)
            registry.ensure_browser_first()  # stand-ins moto needs there, before any of its models is imported
        hooks.install()
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


def current() -> Sandbox:
    """The running sandbox (raises if :func:`start` was not called)."""
    if _SANDBOX is None:
        raise RuntimeError("The sandbox is not running: call labkit.start() first.")
    return _SANDBOX


def current_region() -> str:
    """The running sandbox's region, else the default one."""
    return _SANDBOX.region if _SANDBOX is not None else REGION


def running() -> bool:
    """True once :func:`start` has been called in this process."""
    return _MOCK is not None
