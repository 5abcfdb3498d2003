"""Every IAM document the complete example renders (identity policies, trust policies,
bucket policies) is linted with parliament, the IAM policy linter, with zero findings."""

from __future__ import annotations

import json

import pytest
from conftest import REPO_ROOT, render_full_graph
from parliament import analyze_policy_string


@pytest.fixture(scope="module")
def rendered(function_bin):
    return list(render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml").values())


def documents(rendered):
    for r in rendered:
        name = r["metadata"]["annotations"]["crossplane.io/composition-resource-name"]
        fp = r["spec"].get("forProvider")
        if fp is None:
            continue  # not a managed resource (Crossplane's Usages)
        if r["kind"] == "Role":
            yield name + " (trust)", fp["assumeRolePolicy"], False
        elif r["kind"] in ("Policy", "BucketPolicy"):
            yield name, fp["policy"], r["kind"] == "BucketPolicy"


def test_every_policy_is_linted_clean(rendered):
    docs = list(documents(rendered))
    assert len(docs) >= 12, [d[0] for d in docs]
    problems = []
    for name, text, _ in docs:
        json.loads(text)
        analyzed = analyze_policy_string(text, include_community_auditors=False, ignore_private_auditors=True)
        for finding in analyzed.findings:
            # A role's trust policy names principals, never resources (IAM refuses a
            # Resource there); parliament's grammar is for identity policies.
            if name.endswith("(trust)") and finding.issue == "MALFORMED" and "neither Resource nor NotResource" in str(finding.detail):
                continue
            problems.append(f"{name}: {finding.issue} {finding.detail} {finding.location}")
    assert not problems, "\n".join(problems)


def test_parliament_does_flag_a_bad_policy():
    bad = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjekt","Resource":"*"}]}'
    assert analyze_policy_string(bad).findings


def test_the_provider_prerequisites_policy_is_linted_clean():
    """What the provider's own AWS credentials need beyond the obvious create/update/
    delete permissions of each kind (package/provider-aws-prerequisites.json, listed in
    the README): passing roles, Lambda@Edge replication and its service-linked roles,
    WAF log delivery, CloudFront standard logging."""
    text = (REPO_ROOT / "package" / "provider-aws-prerequisites.json").read_text()
    doc = json.loads(text)
    actions = {a for s in doc["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    for needed in ("iam:PassRole", "lambda:GetFunction", "lambda:EnableReplication", "iam:CreateServiceLinkedRole"):
        assert needed in actions, needed
    findings = analyze_policy_string(text, include_community_auditors=False, ignore_private_auditors=True).findings
    assert not findings, [f"{f.issue} {f.detail} {f.location}" for f in findings]
