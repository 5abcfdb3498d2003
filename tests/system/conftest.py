"""System tests: the seed's promises measured end to end through `imagecdn-dev serve`,
the local CDN built from the complete example's rendered resources (CloudFront emulated,
the shipped viewer functions and Lambda@Edge zip in Node.js, three moto S3 regions).

Environment (tests/run.sh sets them):
  IMAGECDN_DEV_BIN      the imagecdn-dev binary
  IMAGECDN_MOTO_SERVER  moto's server
  IMAGECDN_EDGE_NPM     node_modules with @aws-sdk/client-s3
  IMAGECDN_CORPUS_DIR   the image corpus (default ../shared/corpus)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("IMAGECDN_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
EXAMPLE_KEYS = REPO_ROOT / "imagecdn-dev" / "example-keys"
START_TIMEOUT_S = 120
FLUSH_EVERY_S = 2
SETTLE_S = 1


def corpus(prefix: str) -> Path:
    (path,) = [p for p in CORPUS.iterdir() if p.name.startswith(prefix)]
    return path


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class Cdn:
    """A running `imagecdn-dev serve` and a small HTTP client for it."""

    def __init__(self, proc: subprocess.Popen, base: str, log: Path):
        self.proc = proc
        self.base = base
        self.log = log

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        req = urllib.request.Request(self.base + path, headers=headers or {}, method=method)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=60) as rsp:
                return Reply(rsp.status, {k.lower(): v for k, v in rsp.headers.items()}, rsp.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, {k.lower(): v for k, v in e.headers.items()}, e.read())

    def post(self, path: str) -> dict:
        req = urllib.request.Request(self.base + path, data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=10) as rsp:
            return json.loads(rsp.read())

    def stats(self) -> dict:
        return json.loads(self.get("/_imagecdn/stats").body)

    def config(self) -> dict:
        return json.loads(self.get("/_imagecdn/config").body)

    def executions(self) -> list[dict]:
        return json.loads(self.get("/_imagecdn/executions").body)

    def s3(self):
        """boto3's S3 client on the primary region's endpoint, as an uploader uses it."""
        import boto3  # noqa: PLC0415
        from botocore.config import Config  # noqa: PLC0415

        primary = next(r for r in self.config()["regions"] if r["primary"])
        client = boto3.client(
            "s3", endpoint_url=primary["s3_endpoint"], region_name=primary["region"],
            aws_access_key_id="uploader", aws_secret_access_key="uploader",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )
        return client, primary["originals_bucket"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def binary(var: str) -> Path:
    value = os.environ.get(var)
    if not value or not Path(value).exists():
        pytest.fail(f"{var} must point at an existing file", pytrace=False)
    return Path(value)


@pytest.fixture(scope="session")
def originals(tmp_path_factory) -> Path:
    """Originals laid out as `<tenant prefix>/<key>`: the complete example's public
    `shop` tenant and its signed `partners/media` tenant."""
    root = tmp_path_factory.mktemp("originals")
    (root / "shop").mkdir()
    (root / "partners" / "media").mkdir(parents=True)
    shutil.copy(corpus("07_"), root / "shop" / "hopper.jpg")
    shutil.copy(corpus("10_"), root / "shop" / "coffee.png")
    shutil.copy(corpus("04_"), root / "shop" / "path.jpg")
    shutil.copy(corpus("06_"), root / "shop" / "gray.jpg")
    shutil.copy(corpus("07_"), root / "partners" / "media" / "hopper.jpg")
    return root


@pytest.fixture(scope="session")
def cdn(originals, tmp_path_factory) -> Cdn:
    dev = binary("IMAGECDN_DEV_BIN")
    env = {**os.environ, "IMAGECDN_MOTO_SERVER": str(binary("IMAGECDN_MOTO_SERVER"))}
    log = tmp_path_factory.mktemp("imagecdn-dev") / "stderr.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [
                str(dev), "serve", "--originals", str(originals), "--secrets", str(EXAMPLE_KEYS),
                "--listen", "127.0.0.1:0",
                # A short invalidation window, settle delay and invalidation time, so the
                # takedown tests measure the whole path in seconds.
                "--flush-every", str(FLUSH_EVERY_S), "--takedown-settle-seconds", str(SETTLE_S),
                "--invalidation-seconds", "1",
            ],
            stdout=subprocess.PIPE, stderr=err, env=env, text=True,
        )
    base = None
    deadline = time.monotonic() + START_TIMEOUT_S
    lines: list[str] = []

    def read():
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    while time.monotonic() < deadline and base is None:
        for line in list(lines):
            m = re.search(r"serves on (http://127\.0\.0\.1:\d+)", line)
            if m:
                base = m.group(1)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if base is None:
        proc.kill()
        pytest.fail(f"imagecdn-dev did not start:\n{''.join(lines)}\n{log.read_text(errors='replace')[-4000:]}", pytrace=False)
    yield Cdn(proc, base, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    print(f"--- imagecdn-dev stderr (tail) ---\n{log.read_text(errors='replace')[-3000:]}")
