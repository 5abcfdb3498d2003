"""Test servers for the Lambda front ends: moto's S3 (and CloudFront) server, one per
region, and a Lambda Runtime API that hands a real bootstrap binary its events.

The Runtime API is the documented protocol: the function polls
`GET /2018-06-01/runtime/invocation/next` and answers with
`POST .../invocation/{id}/response` or `.../error`.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class MotoServer:
    """One moto server process on a free 127.0.0.1 port (stop it to fail a region)."""

    def __init__(self, moto_bin: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [str(moto_bin), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def execute_state_machines(self) -> "MotoServer":
        """Makes moto's Step Functions run executions (its interpreter) instead of
        returning canned results."""
        req = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        urllib.request.urlopen(req, timeout=10).read()
        return self

    def create_distribution(self, origin_bucket: str, reference: str) -> str:
        """A CloudFront distribution in moto (for invalidations); returns its ID."""
        out = self.client("cloudfront").create_distribution(DistributionConfig={
            "CallerReference": reference,
            "Comment": reference,
            "Enabled": True,
            "Origins": {"Quantity": 1, "Items": [{"Id": "o", "DomainName": f"{origin_bucket}.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "allow-all", "MinTTL": 0,
                                     "ForwardedValues": {"QueryString": True, "Cookies": {"Forward": "none"}}, "TrustedSigners": {"Enabled": False, "Quantity": 0}},
        })
        return out["Distribution"]["Id"]

    def stop(self) -> None:
        stop(self.proc)


class RuntimeApi:
    """A Lambda Runtime API serving queued events to one function process."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.results: dict[str, queue.Queue] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self.send_error(404)
                    return
                request_id, payload = outer.events.get()
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 300_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:renderer")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                parts = self.path.split("/")
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if len(parts) >= 6 and parts[3] == "invocation":
                    request_id, kind = parts[4], parts[5]
                    outer.results[request_id].put((kind, json.loads(body or b"null")))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def invoke(self, payload, timeout: float = 120.0):
        """Sends one event and returns ("response" | "error", body)."""
        request_id = str(uuid.uuid4())
        self.results[request_id] = queue.Queue()
        self.events.put((request_id, payload))
        try:
            return self.results[request_id].get(timeout=timeout)
        finally:
            self.results.pop(request_id, None)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def start_function(binary: Path, runtime: RuntimeApi, env: dict[str, str]) -> subprocess.Popen:
    full = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.port}",
        "AWS_LAMBDA_FUNCTION_NAME": "renderer",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "3008",
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_LOG_STREAM_NAME": "test",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/renderer",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        **env,
    }
    return subprocess.Popen([str(binary)], env=full, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
