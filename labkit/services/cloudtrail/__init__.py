"""CloudTrail: a record of every call, Event history, trails that deliver, events that react.

moto stores trails and their selectors but records nothing. This service
records every boto3 call the learner's code makes in the sandbox (labkit's
own calls excepted) as a CloudTrail record in AWS's format, from the first
call after it is installed (``lab.cloudtrail``):

- **Records** (:mod:`.records`, :mod:`.identity`): every field AWS writes,
  with the identity that signed the call: the account's root user for the
  sandbox's default credentials, an IAM user for a user's access key, a
  role session for credentials from ``sts:AssumeRole``.
- **Event history** (:mod:`.history`): ``LookupEvents`` answers from the
  management events of the last 90 days, by lookup attribute, time window
  and page, as AWS does.
- **Trails** (:mod:`.trails`): a logging trail delivers the events its
  selectors take (management events by default; data events only when
  selectors ask) to its S3 bucket as gzip JSON log files, in CloudTrail's
  key layout, :data:`DELIVERY_DELAY` seconds of sandbox time after the
  first pending event: ``lab.clock.advance(300)`` delivers them.
- **EventBridge** (:mod:`.recorder`): write events reach the default bus as
  ``AWS API Call via CloudTrail`` while a trail logs, so a rule can react to
  a ``DeleteTable``.

Helpers: :func:`recorded` (the records kept), :func:`deliver_now`,
:func:`pending`, :func:`log_file_key`, :func:`identity_of`.
"""

from __future__ import annotations

from .history import LOOKUP_ATTRIBUTES, MAX_RESULTS, RETENTION_DAYS
from .identity import ROOT_USERNAME, identity_of
from .recorder import install as _install
from .recorder import record_call, recorded
from .recorder import reset as _reset
from .records import DATA_EVENTS, EVENT_VERSION, SOURCE_IP, event_source
from .seams import SEAMS
from .trails import DELIVERY_DELAY, deliver_now, log_file_key, pending

__all__ = [
    "DATA_EVENTS",
    "DELIVERY_DELAY",
    "EVENT_VERSION",
    "LOOKUP_ATTRIBUTES",
    "MAX_RESULTS",
    "RETENTION_DAYS",
    "ROOT_USERNAME",
    "SEAMS",
    "SOURCE_IP",
    "deliver_now",
    "event_source",
    "identity_of",
    "install",
    "log_file_key",
    "pending",
    "record_call",
    "recorded",
    "reset",
]


def install() -> None:
    """Start recording every call of every service (the registry calls this once)."""
    _install()


def reset() -> None:
    """Forget every record, pending log file and identity (``lab.reset()``)."""
    _reset()
