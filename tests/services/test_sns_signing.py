"""SNS envelopes signed without cryptography, in the browser edition (labkit.services.sns.signing).

The signature and the certificate are checked with the real ``cryptography``
package (present locally), as a subscriber that verifies SNS messages would.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from labkit.core import platform
from labkit.services.sns import signing


def test_a_pure_python_signature_verifies_with_cryptography():
    key = signing.RSAKey(1024)  # smaller for speed; the sandbox's is 2048 bits
    certificate = x509.load_der_x509_certificate(signing.certificate(key, datetime.now(timezone.utc)))
    data = b"Message\nhello\nType\nNotification\n"
    signature = key.sign(data)
    certificate.public_key().verify(signature, data, padding.PKCS1v15(), hashes.SHA256())  # raises if invalid
    assert key.verify(data, signature) and not key.verify(data + b"x", signature)
    certificate.public_key().verify(certificate.signature, certificate.tbs_certificate_bytes, padding.PKCS1v15(),
                                    hashes.SHA256())  # self-issued: its own key signed it
    assert certificate.subject.rfc4514_string() == "CN=sns.amazonaws.com"
    assert certificate.issuer.rfc4514_string() == "CN=Amazon RSA 2048 M01,O=Amazon,C=US"
    pem = signing.pem(certificate.public_bytes(__import__("cryptography.hazmat.primitives.serialization",
                                                          fromlist=["Encoding"]).Encoding.DER))
    assert x509.load_pem_x509_certificate(pem).serial_number == certificate.serial_number


def delivered_envelope(aws, subject: str | None) -> dict:
    topic = aws["sns"].create_topic(Name="signed")["TopicArn"]
    queue = aws["sqs"].create_queue(QueueName="signed-inbox")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
    aws["sqs"].set_queue_attributes(QueueUrl=queue, Attributes={"Policy": json.dumps(policy)})
    aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    extra = {"Subject": subject} if subject else {}
    aws["sns"].publish(TopicArn=topic, Message="order 7 paid", **extra)
    messages = aws["sqs"].receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"]
    return json.loads(messages[0]["Body"])


def verify(envelope: dict) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.sns.models import sns_backends

    name = envelope["SigningCertURL"].rsplit("/", 1)[-1]
    certificate = x509.load_pem_x509_certificate(sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]._message_public_keys[name])
    canonical = signing.string_to_sign(envelope).encode()
    certificate.public_key().verify(base64.b64decode(envelope["Signature"]), canonical, padding.PKCS1v15(), hashes.SHA256())


@pytest.mark.parametrize("subject", [None, "receipt"])
def test_in_the_browser_edition_sns_signs_what_it_delivers(aws, monkeypatch, subject):
    monkeypatch.setenv(platform.VARIABLE, "1")
    key = signing.RSAKey(1024)  # a smaller key for speed
    monkeypatch.setattr(signing, "_SIGNER", (key, signing.pem(signing.certificate(key, datetime.now(timezone.utc)))))
    envelope = delivered_envelope(aws, subject)
    assert envelope["Type"] == "Notification" and envelope["Message"] == "order 7 paid"
    assert envelope["SignatureVersion"] == "2" and envelope.get("Subject") == subject
    verify(envelope)
    assert key.verify(signing.string_to_sign(envelope).encode(), base64.b64decode(envelope["Signature"])), "labkit signed it"
    envelope["Message"] = "order 7 refunded"
    with pytest.raises(InvalidSignature):
        verify(envelope)


def test_locally_the_envelope_is_motos(aws, monkeypatch):
    monkeypatch.delenv(platform.VARIABLE, raising=False)
    monkeypatch.setattr(signing, "_SIGNER", None)
    envelope = delivered_envelope(aws, None)
    verify(envelope)  # moto signed it with cryptography
    assert signing._SIGNER is None, "the local edition never makes labkit's key"
