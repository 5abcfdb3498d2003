"""The generated Step Functions definition executed by moto's Step Functions
interpreter, with real EventBridge-shaped S3 events and moto's CloudFront.

moto runs Lambda tasks only in Docker, which these machines lack, so exactly that hop is
stubbed: each `lambda:invoke` Task becomes a Pass state whose result has the shape the
real renderer returns (test_renderer.py checks those results against moto's S3).
Routing, choices, failure states and the `aws-sdk:cloudfront:createInvalidation`
integration run for real."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO_ROOT, render_full_graph
from lambda_harness import MotoServer

BUCKET = "media-originals-us-east-1"


def s3_event(detail_type: str, key: str) -> dict:
    return {
        "version": "0",
        "id": "17793124-05d4-b198-2fde-7ededc63b103",
        "detail-type": detail_type,
        "source": "aws.s3",
        "account": "123456789012",
        "time": "2026-11-25T10:00:00Z",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{BUCKET}"],
        "detail": {
            "version": "0",
            "bucket": {"name": BUCKET},
            "object": {"key": key, "size": 61306, "etag": "0f343b0931126a20f133d67c2b018a3b", "sequencer": "0055AED6DCD90281E5"},
            "request-id": "N4N7GDK58NMKJ12R",
            "requester": "123456789012",
            "source-ip-address": "192.0.2.7",
            "reason": "PutObject" if detail_type == "Object Created" else "DeleteObject",
        },
    }


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(Path(sys.executable).parent / "moto_server").execute_state_machines()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def definition(function_bin):
    machine = render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml")["pipeline"]
    return json.loads(machine["spec"]["forProvider"]["definition"])


@pytest.fixture(scope="module")
def distribution_id(moto):
    return moto.create_distribution(BUCKET, "imagecdn-sfn")


def stubbed(definition: dict, distribution_id: str, results: dict) -> str:
    """The definition with each renderer call replaced by a Pass of its result."""
    doc = json.loads(json.dumps(definition))
    for name, state in doc["States"].items():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            stub = {"Type": "Pass", "Result": results[name], "Next": state["Next"]}
            if "ResultPath" in state:
                stub["ResultPath"] = state["ResultPath"]
            doc["States"][name] = stub
        if state.get("Resource") == "arn:aws:states:::aws-sdk:cloudfront:createInvalidation":
            state["Parameters"]["DistributionId"] = distribution_id
    return json.dumps(doc)


def run(moto, definition_text: str, execution_input: dict, name: str) -> dict:
    sfn = moto.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=name,
        definition=definition_text,
        roleArn="arn:aws:iam::123456789012:role/media-pipeline",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))["executionArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = sfn.describe_execution(executionArn=execution)
        if out["status"] != "RUNNING":
            return out
        time.sleep(0.2)
    raise TimeoutError("execution did not finish")


OK_RESULTS = {
    "RenderPresets": {"rendered": 2, "failed": 0},
    "PurgeVariants": {"deleted": 5},
    "AcknowledgeInvalidation": {"acknowledged": 1},
    "RenderRequested": {"rendered": 0, "failed": 0, "left": 0},
}


def test_upload_event_renders_and_succeeds(moto, definition, distribution_id):
    results = {**OK_RESULTS, "PlanInvalidation": {"empty": True, "batch": None, "markers": []}}
    out = run(moto, stubbed(definition, distribution_id, results), s3_event("Object Created", "shop/a.jpg"), "upload-ok")
    assert out["status"] == "SUCCEEDED", out


def test_failed_render_fails_the_execution_visibly(moto, definition, distribution_id):
    results = {**OK_RESULTS, "RenderPresets": {"rendered": 1, "failed": 1}, "PlanInvalidation": {"empty": True, "batch": None, "markers": []}}
    out = run(moto, stubbed(definition, distribution_id, results), s3_event("Object Created", "shop/b.jpg"), "upload-fail")
    assert out["status"] == "FAILED", out


def test_takedown_event_purges(moto, definition, distribution_id):
    results = {**OK_RESULTS, "PlanInvalidation": {"empty": True, "batch": None, "markers": []}}
    out = run(moto, stubbed(definition, distribution_id, results), s3_event("Object Deleted", "shop/a.jpg"), "takedown")
    assert out["status"] == "SUCCEEDED", out


def test_flush_creates_one_invalidation_in_cloudfront(moto, definition, distribution_id):
    batch = {
        "Paths": {"Quantity": 4, "Items": ["/shop/a.jpg", "/shop/a.jpg?*", "/shop/b.jpg", "/shop/b.jpg?w=320"]},
        "CallerReference": "imagecdn-0123456789abcdef-4",
    }
    results = {**OK_RESULTS, "PlanInvalidation": {"empty": False, "batch": batch, "markers": ["_invalidations/inflight/x.json"]}}
    out = run(moto, stubbed(definition, distribution_id, results), {"source": "imagecdn.flush"}, "flush")
    assert out["status"] == "SUCCEEDED", out
    cf = moto.client("cloudfront")
    items = cf.list_invalidations(DistributionId=distribution_id)["InvalidationList"].get("Items", [])
    assert len(items) == 1
    got = cf.get_invalidation(DistributionId=distribution_id, Id=items[0]["Id"])["Invalidation"]["InvalidationBatch"]
    assert sorted(got["Paths"]["Items"]) == sorted(batch["Paths"]["Items"])


def test_empty_flush_and_foreign_events_do_nothing(moto, definition, distribution_id):
    results = {**OK_RESULTS, "PlanInvalidation": {"empty": True, "batch": None, "markers": []}}
    text = stubbed(definition, distribution_id, results)
    assert run(moto, text, {"source": "imagecdn.flush"}, "flush-empty")["status"] == "SUCCEEDED"
    assert run(moto, text, {"source": "aws.ec2", "detail": {}}, "foreign")["status"] == "SUCCEEDED"
