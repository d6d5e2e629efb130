"""SNS message signatures in the browser edition, without ``cryptography``.

Every SNS message delivered to a queue (unless raw delivery is on), an HTTP
endpoint or an e-mail address is a JSON envelope signed by SNS: RSA with
SHA-256 (PKCS #1 v1.5, ``SignatureVersion`` 2) over the canonical string of
its fields, with ``SigningCertURL`` pointing at the X.509 certificate of the
signing key. moto builds that envelope with the ``cryptography`` package,
which the browser edition does not have (it has no WebAssembly build).

So in the browser edition (only), :func:`post_data` builds the same envelope
with a real signature made here in pure Python: a 2048-bit RSA key (made
once per process, at the first signed message: AWS too signs many messages
with one certificate), PKCS #1 v1.5 signing, and a self-issued certificate
with the issuer and subject moto uses, in DER and PEM. A subscriber that
verifies the signature against the certificate at ``SigningCertURL`` finds
it valid. It is a sandbox key: nothing outside the sandbox trusts it, which is
what a learner's verification code should find out on AWS as well.

The local edition keeps moto's own envelope (the seam passes through).
"""

from __future__ import annotations

import base64
import hashlib
import math
import secrets
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

from labkit.core import platform

#: The public exponent, as moto's (and almost every) RSA key.
PUBLIC_EXPONENT = 65537
KEY_BITS = 2048

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % d for d in range(2, math.isqrt(p) + 1))]


def _probably_prime(n: int, rounds: int = 40) -> bool:
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(secrets.randbelow(n - 3) + 2, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int) -> int:
    while True:
        candidate = secrets.randbits(bits) | (1 << (bits - 1)) | (1 << (bits - 2)) | 1
        if candidate % PUBLIC_EXPONENT != 1 and _probably_prime(candidate):
            return candidate


class RSAKey:
    """An RSA private key: ``n``, ``e``, ``d``; signs with PKCS #1 v1.5 and SHA-256."""

    #: DigestInfo's prefix for SHA-256 (RFC 8017, section 9.2).
    SHA256_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

    def __init__(self, bits: int = KEY_BITS) -> None:
        while True:
            p, q = _prime(bits // 2), _prime(bits // 2)
            n = p * q
            if p != q and n.bit_length() == bits:
                break
        self.n, self.e = n, PUBLIC_EXPONENT
        self.d = pow(self.e, -1, math.lcm(p - 1, q - 1))
        self.size = (bits + 7) // 8

    def sign(self, data: bytes) -> bytes:
        digest_info = self.SHA256_PREFIX + hashlib.sha256(data).digest()
        padded = b"\x00\x01" + b"\xff" * (self.size - len(digest_info) - 3) + b"\x00" + digest_info
        return pow(int.from_bytes(padded, "big"), self.d, self.n).to_bytes(self.size, "big")

    def verify(self, data: bytes, signature: bytes) -> bool:
        expected = self.SHA256_PREFIX + hashlib.sha256(data).digest()
        recovered = pow(int.from_bytes(signature, "big"), self.e, self.n).to_bytes(self.size, "big")
        return recovered.endswith(b"\x00" + expected) and recovered.startswith(b"\x00\x01\xff")


# --- DER, just enough for one certificate ---------------------------------------------------------
def _der(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 0x80:
        return bytes([tag, length]) + body
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + body


def _integer(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    parts = [int(part) for part in dotted.split(".")]
    body = bytes([40 * parts[0] + parts[1]])
    for part in parts[2:]:
        chunk = [part & 0x7F]
        part >>= 7
        while part:
            chunk.append(0x80 | (part & 0x7F))
            part >>= 7
        body += bytes(reversed(chunk))
    return _der(0x06, body)


def _sequence(*items: bytes) -> bytes:
    return _der(0x30, b"".join(items))


def _name(*attributes: tuple[str, str]) -> bytes:
    return _sequence(*(_der(0x31, _sequence(_oid(oid), _der(0x0C, value.encode()))) for oid, value in attributes))


def _time(moment: datetime) -> bytes:
    return _der(0x17, moment.strftime("%y%m%d%H%M%SZ").encode())


_SHA256_WITH_RSA = _sequence(_oid("1.2.840.113549.1.1.11"), b"\x05\x00")
_COMMON_NAME, _COUNTRY, _ORGANIZATION = "2.5.4.3", "2.5.4.6", "2.5.4.10"


def certificate(key: RSAKey, now: datetime) -> bytes:
    """A DER X.509 v3 certificate of ``key``, issued and subject names as moto's SNS uses, signed by ``key``."""
    public_key = _sequence(_sequence(_oid("1.2.840.113549.1.1.1"), b"\x05\x00"),
                           _der(0x03, b"\x00" + _sequence(_integer(key.n), _integer(key.e))))
    tbs = _sequence(
        _der(0xA0, _integer(2)),  # version 3
        _integer(secrets.randbits(159) | 1),
        _SHA256_WITH_RSA,
        _name((_COUNTRY, "US"), (_ORGANIZATION, "Amazon"), (_COMMON_NAME, "Amazon RSA 2048 M01")),
        _sequence(_time(now), _time(now + timedelta(days=365))),
        _name((_COMMON_NAME, "sns.amazonaws.com")),
        public_key,
    )
    return _sequence(tbs, _SHA256_WITH_RSA, _der(0x03, b"\x00" + key.sign(tbs)))


def pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).replace(b"\n", b"")
    lines = [body[i:i + 64] for i in range(0, len(body), 64)]
    return b"-----BEGIN CERTIFICATE-----\n" + b"\n".join(lines) + b"\n-----END CERTIFICATE-----\n"


_LOCK = threading.Lock()
_SIGNER: tuple[RSAKey, bytes] | None = None


def signer() -> tuple[RSAKey, bytes]:
    """The process's signing key and its certificate (PEM), made at first use."""
    global _SIGNER
    with _LOCK:
        if _SIGNER is None:
            key = RSAKey()
            _SIGNER = key, pem(certificate(key, datetime.now(timezone.utc)))
        return _SIGNER


def string_to_sign(envelope: dict[str, Any]) -> str:
    """SNS's canonical string for a Notification (its fields in order, each name and value on a line)."""
    fields = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    return "".join(f"{name}\n{envelope[name]}\n" for name in fields if name in envelope)


def post_data(original: Any, subscription: Any, message: str, message_id: str, subject: str | None,
              message_attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """moto's ``Subscription.get_post_data``; in the browser edition, the same envelope signed here."""
    if not platform.in_browser():
        return original(subscription, message, message_id, subject, message_attributes)  # type: ignore[no-any-return]
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.core.utils import iso_8601_datetime_with_milliseconds
    from moto.moto_api._internal import mock_random
    from moto.sns.models import sns_backends

    key, certificate_pem = signer()
    region = subscription.topic.sns_backend.region_name
    key_name = f"SimpleNotificationService-{str(mock_random.uuid4()).replace('-', '')}.pem"
    sns_backends[DEFAULT_ACCOUNT_ID][region]._message_public_keys[key_name] = certificate_pem
    envelope: dict[str, Any] = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": subscription.topic.arn,
        "Message": message,
        "Timestamp": iso_8601_datetime_with_milliseconds(),
        "SignatureVersion": "2",
    }
    signed = {**envelope, "Subject": subject} if subject else envelope
    envelope["Signature"] = base64.b64encode(key.sign(string_to_sign(signed).encode("utf-8"))).decode("ascii")
    envelope["SigningCertURL"] = f"https://sns.{region}.amazonaws.com/{key_name}"
    envelope["UnsubscribeURL"] = (f"https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                                  f"arn:aws:sns:us-east-1:{subscription.account_id}:{subscription.topic.name}:"
                                  "2bcfbf39-05c3-41de-beaa-fcfcc21c8f55")
    if subject:
        envelope["Subject"] = subject
    if message_attributes:
        envelope["MessageAttributes"] = message_attributes
    return envelope
