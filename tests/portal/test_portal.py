"""The generated Backstage Software Template, filled in by a person in a real browser.

Its first step (the ImageCDN) is rendered the way Backstage's scaffolder renders it:
react-jsonschema-form (@rjsf/core) with the ajv8 validator, `ui:*` keys split into the
uiSchema. The driver types, chooses and adds items in Debian's Chromium
(playwright-core), submits, and the template's skeleton is rendered with nunjucks under
Backstage's `${{ }}` syntax. The file a person gets must be the example they typed in,
and the function must compose it without a fatal result; bad values must be refused by
the form, next to the field.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess

import pytest
import yaml

from conftest import HERE, REPO_ROOT, template

XRD = {"claim": "definition.yaml", "namespaced": "namespaced/definition.yaml"}

EXAMPLES = {
    "claim": ["minimal.yaml", "complete.yaml"],
    "namespaced": ["v2/minimal.yaml", "v2/complete.yaml"],
}


def example(name: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "examples" / name).read_text())


def case_name(name: str) -> str:
    return name.replace("/", "-").removesuffix(".yaml")


@pytest.mark.parametrize("api", ["claim", "namespaced"])
def test_a_person_fills_in_the_examples(api, drive, function_bin, tmp_path):
    cases = [
        {"name": f"{api}-{case_name(n)}", "claim": example(n), "screenshot": n.endswith("complete.yaml")}
        for n in EXAMPLES[api]
    ]
    results = drive(api, cases)
    for name, case in zip(EXAMPLES[api], cases):
        got = results[case["name"]]
        assert got["pageErrors"] == [], got["pageErrors"]
        assert got["state"] == "submitted", (name, got.get("fieldErrors"), got.get("errors"))
        produced = yaml.safe_load(got["file"])
        # Everything the person typed is in the file, as typed ...
        missing = not_in(example(name), produced)
        assert not missing, f"{name}: the form lost {missing}; it produced\n{got['file']}"
        # ... and what the form added (the defaults of untouched lists, which Backstage's
        # form would otherwise submit as empty lists) changes nothing: the function
        # composes exactly the example's resources, without a fatal result.
        path = tmp_path / f"{case['name']}.yaml"
        path.write_text(got["file"])
        assert render(function_bin, path) == render(function_bin, REPO_ROOT / "examples" / name)


def not_in(wanted, got, at="") -> list[str]:
    """Paths of `wanted` (the example) that `got` (the form's file) lacks or differs at."""
    if isinstance(wanted, dict):
        if not isinstance(got, dict):
            return [at or "/"]
        return [p for k, v in wanted.items() for p in not_in(v, got.get(k), f"{at}/{k}")]
    if isinstance(wanted, list) and isinstance(got, list) and len(wanted) == len(got):
        return [p for i, (w, g) in enumerate(zip(wanted, got)) for p in not_in(w, g, f"{at}/{i}")]
    return [] if wanted == got else [f"{at}: {wanted!r} became {got!r}"]


def render(function_bin, path) -> str:
    out = subprocess.run([str(function_bin), "render", str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f"{path}: {out.stderr}"
    assert "kind: Bucket" in out.stdout
    return out.stdout


def with_change(base: dict, pointer: list, value) -> dict:
    claim = copy.deepcopy(base)
    node = claim
    for key in pointer[:-1]:
        node = node.setdefault(key, {})
    node[pointer[-1]] = value
    return claim


# (case, change to the minimal example, the form field that must show an error)
BAD = [
    ("replica-is-primary", ["spec", "regions"], {"primary": "us-east-1", "replicas": ["eu-west-1", "us-east-1"]},
     "root_spec_regions_replicas_1"),
    ("replica-is-default-primary", ["spec", "regions"], {"replicas": ["us-east-1", "eu-west-1"]},
     "root_spec_regions_replicas_0"),
    ("duplicate-replicas", ["spec", "regions"], {"primary": "us-east-1", "replicas": ["eu-west-1", "eu-west-1"]},
     "root_spec_regions_replicas"),
    ("min-quality-above-max", ["spec", "transform"], {"minQuality": 95, "maxQuality": 90},
     "root_spec_transform_minQuality"),
    ("default-quality-above-max", ["spec", "transform"], {"defaultQuality": 95},
     "root_spec_transform_defaultQuality"),
    ("max-quality-below-default", ["spec", "transform"], {"maxQuality": 70},
     "root_spec_transform_maxQuality"),
    ("signing-tenant-without-keys", ["spec", "tenants"], [{"name": "partners", "requireSignedUrls": True}],
     "root_spec_tenants_0_publicKeys"),
    ("invalid-hostname", ["spec", "customDomain"], {"name": "images example com", "hostedZoneId": "Z0123456789EXAMPLE"},
     "root_spec_customDomain_name"),
    ("invalid-tenant-name", ["spec", "tenants"], [{"name": "Shop_1"}], "root_spec_tenants_0_name"),
]


# The two APIs' forms share every rule above (they differ only in provider config
# fields): all cases through the claim's form, one of each kind through the namespaced.
NAMESPACED_BAD = {"replica-is-primary", "min-quality-above-max", "signing-tenant-without-keys", "invalid-hostname"}


@pytest.mark.parametrize("api", ["claim", "namespaced"])
def test_the_form_refuses_bad_values_next_to_the_field(api, drive):
    base = example(EXAMPLES[api][0])
    bad = [b for b in BAD if api == "claim" or b[0] in NAMESPACED_BAD]
    cases = [
        {"name": f"{api}-{name}", "claim": with_change(base, pointer, value), "screenshot": name == "min-quality-above-max"}
        for name, pointer, value, _ in bad
    ]
    results = drive(api, cases)
    for (name, _, _, field), case in zip(bad, cases):
        got = results[case["name"]]
        assert got["state"] == "invalid", f"{name}: the form submitted {got.get('submitted')}"
        assert field in got["fieldErrors"], f"{name}: no error on {field}; errors shown: {got['fieldErrors']}"


@pytest.mark.parametrize("api", ["claim", "namespaced"])
def test_the_quality_rules_say_exactly_the_xrd_rule(api, npm, tmp_path):
    """Every combination of the three qualities, each empty or set around the bounds and
    defaults: the form accepts exactly what the XRD's rule accepts (ajv, as rjsf runs it)."""
    step = tmp_path / "step.json"
    step.write_text(json.dumps(template(api)["spec"]["parameters"][0]))
    xrd = yaml.safe_load((REPO_ROOT / "apis" / XRD[api]).read_text())
    transform = xrd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["transform"]
    defaults = {f: transform["properties"][f]["default"] for f in ("minQuality", "defaultQuality", "maxQuality")}
    out = subprocess.run(
        ["node", str(HERE / "quality_rules.js"), str(step), json.dumps(defaults)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "NODE_PATH": str(npm)},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["checked"] == 12**3
    assert result["wrong"] == [], result["wrong"][:5]
