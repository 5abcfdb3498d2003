"""Signed URLs from `function-imagecdn sign` against botocore's CloudFrontSigner.

RSA PKCS#1 v1.5 signatures are deterministic, so for the same key, URL and policy our
URL must equal botocore's byte for byte (canned and custom policies); the reverse check
verifies our signatures with `cryptography` against the public key, including SHA-256
and ECDSA P-256 signatures, which botocore does not make.
"""

from __future__ import annotations

import base64
import datetime
import subprocess

import pytest
from botocore.signers import CloudFrontSigner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

KEY_ID = "K2JCJMDEHXQW5F"
URL = "https://images.example.com/partners/media/catalog/shoe.jpg?fm=webp&w=640"
EXPIRES = 1_893_456_000  # 2030-01-01


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("keys") / "rsa.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    )
    return key, path


@pytest.fixture(scope="module")
def ec_key(tmp_path_factory):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("keys") / "ec.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return key, path


def sign(function_bin, key_path, *args) -> str:
    out = subprocess.run(
        [str(function_bin), "sign", URL, "--key-pair-id", KEY_ID, "--private-key", str(key_path), *args],
        capture_output=True, text=True, timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def botocore_signer(key):
    return CloudFrontSigner(KEY_ID, lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()))


def unb64(s: str) -> bytes:
    return base64.b64decode(s.replace("-", "+").replace("_", "=").replace("~", "/"))


def query(url: str) -> dict[str, str]:
    return dict(p.split("=", 1) for p in url.split("?", 1)[1].split("&"))


def test_canned_policy_matches_botocore(function_bin, rsa_key):
    key, path = rsa_key
    ours = sign(function_bin, path, "--expires", str(EXPIRES))
    theirs = botocore_signer(key).generate_presigned_url(
        URL, date_less_than=datetime.datetime.fromtimestamp(EXPIRES, datetime.timezone.utc)
    )
    assert ours == theirs


def test_custom_policy_matches_botocore(function_bin, rsa_key):
    key, path = rsa_key
    signer = botocore_signer(key)
    policy = signer.build_policy(
        URL,
        datetime.datetime.fromtimestamp(EXPIRES, datetime.timezone.utc),
        date_greater_than=datetime.datetime.fromtimestamp(1_700_000_000, datetime.timezone.utc),
        ip_address="192.0.2.0/24",
    )
    ours = sign(function_bin, path, "--expires", str(EXPIRES), "--not-before", "1700000000", "--ip", "192.0.2.0/24")
    assert ours == signer.generate_presigned_url(URL, policy=policy)


def test_wildcard_resource_policy_matches_botocore(function_bin, rsa_key):
    key, path = rsa_key
    signer = botocore_signer(key)
    resource = "https://images.example.com/partners/media/*"
    policy = signer.build_policy(resource, datetime.datetime.fromtimestamp(EXPIRES, datetime.timezone.utc))
    ours = sign(function_bin, path, "--expires", str(EXPIRES), "--resource", resource)
    assert ours == signer.generate_presigned_url(URL, policy=policy)


def test_sha256_rsa_signature_verifies(function_bin, rsa_key):
    key, path = rsa_key
    url = sign(function_bin, path, "--expires", str(EXPIRES), "--hash", "sha256")
    q = query(url)
    assert q["Hash-Algorithm"] == "SHA256" and q["Key-Pair-Id"] == KEY_ID
    policy = botocore_signer(key).build_policy(URL, datetime.datetime.fromtimestamp(EXPIRES, datetime.timezone.utc))
    key.public_key().verify(unb64(q["Signature"]), policy.encode(), padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        key.public_key().verify(unb64(q["Signature"]), policy.encode(), padding.PKCS1v15(), hashes.SHA1())


def test_ecdsa_signature_verifies(function_bin, ec_key):
    key, path = ec_key
    url = sign(function_bin, path, "--expires", str(EXPIRES), "--hash", "sha256", "--custom-policy")
    q = query(url)
    policy = unb64(q["Policy"])
    assert policy == ('{"Statement":[{"Resource":"%s","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}' % (URL, EXPIRES)).encode()
    key.public_key().verify(unb64(q["Signature"]), policy, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.public_key().verify(unb64(q["Signature"]), policy + b" ", ec.ECDSA(hashes.SHA256()))


def test_bad_inputs_fail_with_a_reason(function_bin, ec_key, tmp_path):
    _, ec_path = ec_key
    bad_key = tmp_path / "bad.pem"
    bad_key.write_text("not a key")
    for args, reason in [
        ([str(bad_key)], "private key"),
        ([str(ec_path)], "ECDSA keys sign with SHA-256 only"),
        ([str(tmp_path / "missing.pem")], "cannot read"),
    ]:
        out = subprocess.run(
            [str(function_bin), "sign", URL, "--key-pair-id", KEY_ID, "--expires", str(EXPIRES), "--private-key", *args],
            capture_output=True, text=True, timeout=30,
        )
        assert out.returncode != 0 and reason in out.stderr, out.stderr
