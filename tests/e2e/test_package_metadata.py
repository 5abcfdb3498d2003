"""The Crossplane package metadata against what the function really composes (cheap:
runs in the default e2e stage; the built packages are tested in test_package.py).

- package/crossplane.yaml depends on a provider package for every API group the
  function composes (the complete example with its observed state renders every kind).
- The Composition's functionRef names the Function object Crossplane creates when it
  resolves the Configuration's function dependency.
"""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO_ROOT, render_full_graph

CONFIGURATION_META = REPO_ROOT / "package" / "crossplane.yaml"
FUNCTION_META = REPO_ROOT / "package" / "function" / "crossplane.yaml"
COMPOSITION = REPO_ROOT / "apis" / "composition.yaml"

# API group -> the provider package that serves it.
UPJET_AWS_GROUP = re.compile(r"^([a-z0-9]+)\.aws\.upbound\.io$")
KUBERNETES_GROUP = "kubernetes.crossplane.io"


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def dependencies() -> list[dict]:
    return load(CONFIGURATION_META)["spec"]["dependsOn"]


def to_dns_label(s: str) -> str:
    """Crossplane's xpkg.ToDNSLabel: the name it gives a package it installs as a
    dependency is ToDNSLabel(<repository path of the package reference>)."""
    out = []
    for i, ch in enumerate(s):
        if ch.isascii() and (ch.islower() or ch.isdigit()):
            out.append(ch)
        if ch in "./:-" and i not in (0, 62, len(s) - 1):
            out.append("-")
        if i == 62:
            break
    return "".join(out).strip("-")


def repository_path(ref: str) -> str:
    """`registry/org/name` -> `org/name` (the registry host has a dot or a port)."""
    first, _, rest = ref.partition("/")
    return rest if ("." in first or ":" in first) and rest else ref


@pytest.fixture(scope="module")
def composed_groups(function_bin) -> set[str]:
    groups = {
        doc["apiVersion"].split("/")[0]
        for doc in render_full_graph(function_bin, REPO_ROOT / "examples" / "complete.yaml").values()
        if "/" in doc.get("apiVersion", "")
    }
    assert groups, "render produced no resources"
    return groups


def test_every_composed_group_has_its_provider(composed_groups):
    providers = {d["provider"]: d["version"] for d in dependencies() if "provider" in d}
    names = {p.rsplit("/", 1)[-1] for p in providers}
    missing = []
    for group in sorted(composed_groups):
        if group == "apiextensions.crossplane.io":
            continue  # Crossplane's own kinds (Usages): part of Crossplane itself
        if group == KUBERNETES_GROUP:
            want = "provider-kubernetes"
        elif m := UPJET_AWS_GROUP.match(group):
            want = f"provider-aws-{m.group(1)}"
        else:
            missing.append(f"{group} (no known provider)")
            continue
        if want not in names:
            missing.append(f"{group} -> {want}")
    assert not missing, f"package/crossplane.yaml lacks dependsOn for: {missing}"


def test_no_unused_provider_dependencies(composed_groups):
    served = {f"provider-aws-{m.group(1)}" for g in composed_groups if (m := UPJET_AWS_GROUP.match(g))}
    served |= {"provider-kubernetes"} if KUBERNETES_GROUP in composed_groups else set()
    listed = {d["provider"].rsplit("/", 1)[-1] for d in dependencies() if "provider" in d}
    assert listed <= served, f"providers nothing composes: {sorted(listed - served)}"


def test_aws_family_versions_agree():
    """All provider-aws family packages at one version (the CRDs the tests use, v2.6.0)."""
    versions = {
        d["version"] for d in dependencies() if "/provider-aws-" in d.get("provider", "")
    }
    assert versions == {"v2.6.0"}, versions


def test_function_dependency_is_this_function():
    functions = [d for d in dependencies() if "function" in d]
    assert len(functions) == 1, functions
    name = load(FUNCTION_META)["metadata"]["name"]
    assert functions[0]["function"].rsplit("/", 1)[-1] == name


def test_composition_function_ref_matches_installed_dependency():
    (function,) = [d["function"] for d in dependencies() if "function" in d]
    installed_name = to_dns_label(repository_path(function))
    refs = [step["functionRef"]["name"] for step in load(COMPOSITION)["spec"]["pipeline"]]
    assert refs == [installed_name], (
        f"the Configuration installs its function as {installed_name!r}; the Composition "
        f"calls {refs}"
    )


def test_dns_label_matches_crossplane():
    assert to_dns_label("crossplane-contrib/function-patch-and-transform") == (
        "crossplane-contrib-function-patch-and-transform"
    )
    assert repository_path("xpkg.crossplane.io/imagecdn/function-imagecdn") == (
        "imagecdn/function-imagecdn"
    )
