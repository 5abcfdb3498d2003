"""Every generated Step Functions definition of every example (the pre-compute pipeline)
validates with two independent Amazon States Language validators: statelint (PyPI) and
asl-validator (npm)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT, render_full_graph

NPM_BIN = Path(os.environ.get("IMAGECDN_NPM_BIN", REPO_ROOT / ".peers/npm/node_modules/.bin"))
STATELINT = Path(sys.executable).parent / "statelint"


def definitions(function_bin) -> dict[str, str]:
    """`{claim}-{component}` -> definition text."""
    out = {}
    for claim in ["minimal.yaml", "complete.yaml"]:
        for component, doc in render_full_graph(function_bin, REPO_ROOT / "examples" / claim).items():
            if doc["kind"] == "StateMachine":
                out[f"{claim.removesuffix('.yaml')}-{component}"] = doc["spec"]["forProvider"]["definition"]
    return out


@pytest.fixture(scope="module")
def asl_files(function_bin, tmp_path_factory):
    defs = definitions(function_bin)
    assert set(defs) == {"minimal-pipeline", "complete-pipeline"}, "every example has the pipeline"
    d = tmp_path_factory.mktemp("asl")
    files = []
    for claim, text in defs.items():
        path = d / f"{claim}.asl.json"
        path.write_text(json.dumps(json.loads(text), indent=2))
        files.append(path)
    return files


def run(cmd):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=120)


def test_statelint_accepts_every_definition(asl_files):
    assert STATELINT.exists(), f"statelint not installed at {STATELINT}"
    for f in asl_files:
        r = run([STATELINT, f])
        assert r.returncode == 0, f"{f.name}: {r.stdout}{r.stderr}"


def test_asl_validator_accepts_every_definition(asl_files):
    validator = NPM_BIN / "asl-validator"
    assert validator.exists(), f"asl-validator not installed at {validator} (tests/run.sh installs it)"
    for f in asl_files:
        r = run([validator, "--json-path", f])
        assert r.returncode == 0, f"{f.name}: {r.stdout}{r.stderr}"


def test_validators_reject_a_broken_definition(asl_files, tmp_path):
    doc = json.loads(next(f for f in asl_files if f.name.startswith("complete-pipeline")).read_text())
    doc["States"]["Route"]["Default"] = "NoSuchState"
    bad = tmp_path / "bad.asl.json"
    bad.write_text(json.dumps(doc))
    assert run([STATELINT, bad]).returncode != 0
    assert run([NPM_BIN / "asl-validator", "--json-path", bad]).returncode != 0


def test_definition_renders_the_claims_presets_with_retries(asl_files):
    doc = json.loads(next(f for f in asl_files if f.name.startswith("complete-pipeline")).read_text())
    render = doc["States"]["RenderPresets"]
    presets = render["Parameters"]["Payload"]["presets"]
    # spec.precompute.presets of the complete example: thumb and card, in canonical form.
    assert presets == [
        {"name": "thumb", "query": "fm=webp&h=200&q=70&w=200"},
        {"name": "card", "query": "h=360&w=640"},
    ]
    assert any("Lambda.TooManyRequestsException" in r["ErrorEquals"] for r in render["Retry"])
    create = doc["States"]["CreateInvalidation"]
    assert create["Resource"] == "arn:aws:states:::aws-sdk:cloudfront:createInvalidation"
    assert any("CloudFront.TooManyInvalidationsInProgressException" in r["ErrorEquals"] for r in create["Retry"])
    assert doc["States"]["RenderFailed"]["Type"] == "Fail"
