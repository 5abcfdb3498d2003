"""The WAF logging reconciler (function/src/compose/waf_logging.rs) executed by moto's
Step Functions interpreter against moto's WAFv2, with the definition exactly as the
function renders it: only the web ACL and log group ARNs of the observed fixtures are
swapped for the ones moto created.

It must attach the configuration when none exists, leave an in-sync one alone, and
restore one that was deleted or altered, for both `logRequests` modes."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import REPO_ROOT, render_full_graph
from lambda_harness import MotoServer

BLOCKED_FILTER = {
    "DefaultBehavior": "DROP",
    "Filters": [{
        "Behavior": "KEEP",
        "Requirement": "MEETS_ANY",
        "Conditions": [{"ActionCondition": {"Action": "BLOCK"}}, {"ActionCondition": {"Action": "COUNT"}}],
    }],
}


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(Path(sys.executable).parent / "moto_server").execute_state_machines()
    yield server
    server.stop()


def claim_with(tmp_path: Path, log_requests: str) -> Path:
    claim = yaml.safe_load((REPO_ROOT / "examples/complete.yaml").read_text())
    claim["spec"]["waf"]["logRequests"] = log_requests
    path = tmp_path / f"complete-{log_requests}.yaml"
    path.write_text(yaml.safe_dump(claim))
    return path


@pytest.fixture(scope="module")
def aws(moto):
    """A CLOUDFRONT-scope web ACL and a WAF log group in moto: (acl arn, log group arn)."""
    waf = moto.client("wafv2")
    acl = waf.create_web_acl(
        Name="media-waf", Scope="CLOUDFRONT", DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True, "MetricName": "media-waf"},
    )["Summary"]["ARN"]
    logs = moto.client("logs")
    logs.create_log_group(logGroupName="aws-waf-logs-media")
    group = logs.describe_log_groups(logGroupNamePrefix="aws-waf-logs-media")["logGroups"][0]["arn"]
    return acl, group.removesuffix(":*")


def machine_for(moto, resources: dict, aws, name: str) -> str:
    """Creates the rendered reconciler in moto, pointed at moto's ACL and log group."""
    acl, group = aws
    machine = resources["waf-logging"]["spec"]["forProvider"]
    text = machine["definition"]
    definition = json.loads(text)
    observe = definition["States"]["Observe"]["Parameters"]["ResourceArn"]
    attach = definition["States"]["Attach"]["Parameters"]["LoggingConfiguration"]
    assert attach["ResourceArn"] == observe
    text = text.replace(observe, acl).replace(attach["LogDestinationConfigs"][0], group)
    return moto.client("stepfunctions").create_state_machine(
        name=name, definition=text, type=machine["type"],
        roleArn="arn:aws:iam::123456789012:role/media-waf-logging",
    )["stateMachineArn"]


def execute(moto, machine: str) -> tuple[dict, list[str]]:
    """Runs one execution to its end: (description, names of the states entered)."""
    sfn = moto.client("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex, input="{}")["executionArn"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        out = sfn.describe_execution(executionArn=execution)
        if out["status"] != "RUNNING":
            events = sfn.get_execution_history(executionArn=execution)["events"]
            entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
            return out, entered
        time.sleep(0.2)
    raise TimeoutError("execution did not finish")


def current(moto, acl: str) -> dict | None:
    waf = moto.client("wafv2")
    try:
        return waf.get_logging_configuration(ResourceArn=acl)["LoggingConfiguration"]
    except waf.exceptions.WAFNonexistentItemException:
        return None


IN_SYNC = ["Observe", "Compare", "InSync"]


def assert_run_attaches(moto, machine: str, aws, logging_filter: dict | None) -> None:
    """One execution writes the configuration, which then holds `logging_filter`."""
    acl, group = aws
    out, entered = execute(moto, machine)
    assert out["status"] == "SUCCEEDED", out
    assert entered[-1] == "Attach", entered
    got = current(moto, acl)
    assert got["LogDestinationConfigs"] == [group]
    assert got.get("LoggingFilter") == logging_filter


@pytest.fixture
def clean(moto, aws):
    """Each test starts with no logging configuration attached."""
    if current(moto, aws[0]) is not None:
        moto.client("wafv2").delete_logging_configuration(ResourceArn=aws[0])
    yield


def test_rendered_reconciler_is_an_express_machine_on_a_schedule(function_bin):
    r = render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml")
    machine = r["waf-logging"]["spec"]["forProvider"]
    assert machine["type"] == "EXPRESS" and machine["region"] == "us-east-1"
    assert r["waf-logging-rule"]["spec"]["forProvider"]["scheduleExpression"].startswith("rate(")
    name = r["waf-logging"]["metadata"]["annotations"]["crossplane.io/external-name"]
    assert r["waf-logging-rule-target"]["spec"]["forProvider"]["arn"].endswith(f":stateMachine:{name}")


def test_attaches_then_leaves_an_in_sync_configuration_alone(moto, aws, function_bin, clean):
    machine = machine_for(moto, render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml"), aws, "waf-logging-blocked")
    assert_run_attaches(moto, machine, aws, BLOCKED_FILTER)

    out, entered = execute(moto, machine)
    assert out["status"] == "SUCCEEDED", out
    assert entered == IN_SYNC, entered


@pytest.mark.parametrize("drift", ["deleted", "other destination", "filter removed"])
def test_restores_a_drifted_configuration(moto, aws, function_bin, clean, drift):
    acl, group = aws
    machine = machine_for(moto, render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml"), aws, f"waf-logging-{drift.replace(' ', '-')}")
    assert execute(moto, machine)[0]["status"] == "SUCCEEDED"
    waf = moto.client("wafv2")
    if drift == "deleted":
        waf.delete_logging_configuration(ResourceArn=acl)
    elif drift == "other destination":
        waf.put_logging_configuration(LoggingConfiguration={
            "ResourceArn": acl, "LogDestinationConfigs": [group + "-elsewhere"], "LoggingFilter": BLOCKED_FILTER})
    else:
        waf.put_logging_configuration(LoggingConfiguration={"ResourceArn": acl, "LogDestinationConfigs": [group]})
    assert_run_attaches(moto, machine, aws, BLOCKED_FILTER)


def test_all_mode_logs_every_request_and_drops_a_filter(moto, aws, function_bin, clean, tmp_path):
    acl, group = aws
    machine = machine_for(moto, render_full_graph(function_bin, claim_with(tmp_path, "All")), aws, "waf-logging-all")
    moto.client("wafv2").put_logging_configuration(LoggingConfiguration={
        "ResourceArn": acl, "LogDestinationConfigs": [group], "LoggingFilter": BLOCKED_FILTER})
    assert_run_attaches(moto, machine, aws, None)
    assert execute(moto, machine)[1] == IN_SYNC


def test_off_mode_renders_no_log_group_and_no_reconciler(function_bin, tmp_path):
    r = render_full_graph(function_bin, claim_with(tmp_path, "Off"))
    assert "web-acl" in r
    assert not [c for c in r if c.startswith("waf-log")], sorted(r)
