"""Standard Webhooks signatures: what a receiver checks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from opsconsole.emulator.webhook_receiver import verify as receiver_verify
from opsconsole.integrations import signing


def test_it_signs_id_timestamp_and_body_with_the_secret_as_the_spec_says():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = signing.headers(
        [secret], "msg_p5jXN8AQM9LWM0D4loKWxJek", b'{"test": 2432232314}', 1614265330
    )
    # The example from the Standard Webhooks specification.
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    assert headers["webhook-id"] == "msg_p5jXN8AQM9LWM0D4loKWxJek"
    assert headers["webhook-timestamp"] == "1614265330"


def test_it_sends_two_signatures_during_a_rotation_and_either_verifies():
    old, new = signing.new_secret(), signing.new_secret()
    body = b'{"id": "e1"}'
    headers = signing.headers([new, old], "msg_1", body)
    assert len(headers["webhook-signature"].split()) == 2
    for secret in (old, new):
        assert signing.verify(secret, headers, body) == "msg_1"
        assert receiver_verify(
            secret, "msg_1", headers["webhook-timestamp"], headers["webhook-signature"], body
        )
    with pytest.raises(signing.InvalidSignature):
        signing.verify(signing.new_secret(), headers, body)


def test_it_refuses_a_stale_timestamp_or_a_changed_body():
    secret = signing.new_secret()
    headers = signing.headers([secret], "msg_1", b"{}", timestamp=1_000_000)
    with pytest.raises(signing.InvalidSignature, match="tolerance"):
        signing.verify(secret, headers, b"{}")
    fresh = signing.headers([secret], "msg_1", b"{}")
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret, fresh, b'{"x": 1}')


def test_a_secret_is_24_random_bytes_in_the_whsec_form():
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret[6:])) == 24
    assert secret != signing.new_secret()
    # the key is the decoded bytes, not the text
    mac = hmac.new(base64.b64decode(secret[6:]), b"a.1.{}", hashlib.sha256).digest()
    assert signing.signature(secret, "a", 1, b"{}") == "v1," + base64.b64encode(mac).decode()
