"""labkit: the helper package of the hands-on AWS architecture course.

One import and one call set up every notebook::

    import labkit
    lab = labkit.start()          # the offline AWS sandbox

``import labkit`` alone already guarantees that no boto3 call reaches real
AWS. Then the lab uses plain boto3, and ``lab.<service>`` holds the few
helpers a chapter needs (``lab.rds.connect(...)``, ``lab.dynamodb.sweep_expired(...)``;
``lab.services()`` lists them).

The package is a house in layers (``pyproject.toml`` enforces them):

- :mod:`labkit.core`     - sandbox, offline guard, hook dispatcher, service registry, clock
- :mod:`labkit.services` - one package per simulated service (Lambda, SNS, EventBridge,
  Step Functions, DynamoDB, ElastiCache, RDS)
- :mod:`labkit.check`    - exercise checks with points and feedback
- :mod:`labkit.notebook` - diagrams, the account drawn from its state, quizzes, pretty printing,
  chapter calculators, the book's renderer
- :mod:`labkit.shop`     - the course's running example, built up to any chapter (``lab.shop``)
- :mod:`labkit.grading`  - student copies and the auto-grader (``labkit release``, ``labkit grade``)
"""

from labkit.core import names as _names
from labkit.core import offline as _offline

_offline.install()  # before anything else: no client made after this line can reach AWS
_names.install()  # and no requests/urllib connection to an AWS name either

import labkit.services as _services  # noqa: E402  (declares the services; imports none of them)
from labkit.core import registry as _registry  # noqa: E402

# Two rooms on the handle that are not services: the course's shop, built up to
# any chapter (lab.shop), and the account drawn from its real state (lab.account,
# also lab.diagram()). Declared like services, imported at first use.
_registry.declare(_registry.Service(
    "shop", "labkit.shop",
    summary="the course's web shop: built up to any chapter, deployed from CloudFormation, loaded and traced"))
_registry.declare(_registry.Service(
    "account", "labkit.notebook.account",
    summary="the architecture that exists in the sandbox now, drawn from describe and list calls (lab.diagram())"))
from labkit.check import between, contains, exercise, one_of, satisfies  # noqa: E402
from labkit.core import platform as _platform  # noqa: E402
from labkit.core.errors import NotEmulated  # noqa: E402
from labkit.core.offline import OfflineError  # noqa: E402
from labkit.core.sandbox import Sandbox, running, start  # noqa: E402
from labkit.notebook.printing import show  # noqa: E402

if _platform.in_browser():  # the browser edition: Graphviz (WebAssembly) starts loading now, ready by the next cell
    from labkit.notebook import diagrams_browser as _diagrams_browser

    _diagrams_browser.start()
    del _diagrams_browser

__all__ = [
    "NotEmulated",
    "OfflineError",
    "Sandbox",
    "between",
    "contains",
    "exercise",
    "one_of",
    "running",
    "satisfies",
    "show",
    "start",
]
__version__ = "0.2.0"
del _services, _registry
