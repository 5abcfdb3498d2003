"""Fixtures for the end-to-end tests of the function-imagecdn binary over gRPC.

The binary comes from IMAGECDN_FUNCTION_BIN (tests/run.sh sets it to the debug
build). Each server runs as a real process on free 127.0.0.1 ports (gRPC and
metrics), is waited for (bounded) until its port accepts, and is terminated
(then killed) afterwards.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

REPO_ROOT = Path(__file__).resolve().parents[2]
MINIMAL_CLAIM = REPO_ROOT / "examples" / "minimal.yaml"

START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

# Variables the SDK's flags read (clap `env = ...`); a value leaking in from
# the caller's environment would change what the process does.
_SDK_ENV_VARS = ("DEBUG", "TLS_SERVER_CERTS_DIR", "METRICS_ADDRESS")


def function_env() -> dict[str, str]:
    """The caller's environment without the variables the SDK's flags read."""
    return {k: v for k, v in os.environ.items() if k not in _SDK_ENV_VARS}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render_full_graph(function_bin: Path, claim: Path, observed: Path | None = None) -> dict[str, dict]:
    """`function-imagecdn render CLAIM --observed examples/observed` (or OBSERVED): every
    composed resource of the full graph, by composition resource name."""
    observed = observed or REPO_ROOT / "examples" / "observed"
    out = subprocess.run(
        [str(function_bin), "render", str(claim), "--observed", str(observed)],
        capture_output=True, text=True, timeout=120, env=function_env(),
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    assert docs, f"render of {claim} produced no resources"
    return {d["metadata"]["annotations"]["crossplane.io/composition-resource-name"]: d for d in docs}


@pytest.fixture(scope="session")
def function_bin() -> Path:
    value = os.environ.get("IMAGECDN_FUNCTION_BIN")
    if not value:
        pytest.fail(
            "IMAGECDN_FUNCTION_BIN is not set: run tests/run.sh, or point it at "
            "a built function-imagecdn binary",
            pytrace=False,
        )
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"IMAGECDN_FUNCTION_BIN={value} is not an executable file", pytrace=False)
    return path


class FunctionProcess:
    """One running function-imagecdn; output goes to a log file."""

    def __init__(self, binary: Path, extra_args: list[str], log_path: Path):
        self.port = free_port()
        self.metrics_port = free_port()
        while self.metrics_port == self.port:
            self.metrics_port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.log_path = log_path
        self.args = [
            str(binary),
            "--address",
            self.address,
            "--metrics-address",
            f"127.0.0.1:{self.metrics_port}",
            *extra_args,
        ]
        env = function_env()
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            self.args,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError as e:
            return f"<cannot read {self.log_path}: {e}>"

    def wait_until_accepting(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                raise RuntimeError(
                    f"{' '.join(self.args)} exited with {rc} before accepting "
                    f"connections; its output:\n{self.log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{' '.join(self.args)} did not accept connections on "
                    f"{self.address} within {timeout}s; its output:\n{self.log()}"
                )
            time.sleep(0.1)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_S; returns the exit code
        of a graceful stop, or None when it had to be killed."""
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        else:
            rc = self.proc.returncode
        self._log.close()
        return rc


@pytest.fixture(scope="module")
def start_function(function_bin, tmp_path_factory):
    """Starts function-imagecdn with the given extra args and returns the
    process once its gRPC port accepts; every process started is stopped
    when the module's tests are done."""
    started: list[FunctionProcess] = []

    def start(*extra_args: str) -> FunctionProcess:
        log = tmp_path_factory.mktemp("function") / "function.log"
        fp = FunctionProcess(function_bin, list(extra_args), log)
        started.append(fp)
        fp.wait_until_accepting()
        return fp

    yield start
    for fp in started:
        fp.stop()
        print(f"--- output of {' '.join(fp.args)} ---\n{fp.log()}")


@pytest.fixture(scope="module")
def insecure_server(start_function) -> FunctionProcess:
    return start_function("--insecure")


# --- certificates -----------------------------------------------------------


@dataclass
class KeyPair:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ImageCDN e2e tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Digital signatures, plus certificate and CRL signing for a CA."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )

def make_ca(cn: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return KeyPair(key, cert)


def make_leaf(ca: KeyPair, cn: str, *, server: bool) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("crossplane")]), critical=False
        )
    return KeyPair(key, builder.sign(ca.key, hashes.SHA256()))


@dataclass
class TlsMaterial:
    certs_dir: Path
    ca: KeyPair
    server: KeyPair
    client: KeyPair
    # A client certificate from a CA the server does not trust.
    rogue_client: KeyPair


@pytest.fixture(scope="module")
def tls_material(tmp_path_factory) -> TlsMaterial:
    ca = make_ca("ImageCDN e2e CA")
    server = make_leaf(ca, "function-imagecdn", server=True)
    client = make_leaf(ca, "crossplane", server=False)
    rogue_ca = make_ca("Rogue CA")
    rogue_client = make_leaf(rogue_ca, "crossplane", server=False)

    certs_dir = tmp_path_factory.mktemp("tls")
    (certs_dir / "tls.crt").write_bytes(server.cert_pem)
    (certs_dir / "tls.key").write_bytes(server.key_pem)
    (certs_dir / "tls.key").chmod(0o600)
    (certs_dir / "ca.crt").write_bytes(ca.cert_pem)
    return TlsMaterial(certs_dir, ca, server, client, rogue_client)


@pytest.fixture(scope="module")
def mtls_server(start_function, tls_material) -> FunctionProcess:
    return start_function("--tls-certs-dir", str(tls_material.certs_dir))


# --- the composite resource ---------------------------------------------------


@pytest.fixture(scope="session")
def minimal_claim() -> dict:
    with open(MINIMAL_CLAIM) as f:
        claim = yaml.safe_load(f)
    assert claim["kind"] == "ImageCDN", f"{MINIMAL_CLAIM} is not an ImageCDN claim"
    return claim


@pytest.fixture
def minimal_xr(minimal_claim) -> dict:
    """The XR Crossplane would compose for examples/minimal.yaml's claim (a
    fresh deep copy per test, safe to modify)."""
    claim = copy.deepcopy(minimal_claim)
    metadata = {k: v for k, v in claim["metadata"].items() if k != "namespace"}
    return {
        "apiVersion": "imagecdn.io/v1alpha1",
        "kind": "XImageCDN",
        "metadata": metadata,
        "spec": claim["spec"],
    }
