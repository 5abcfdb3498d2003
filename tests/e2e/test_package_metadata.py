"""The Crossplane package metadata against what the function really composes (cheap:
runs in the default e2e stage; the built packages are tested in test_package.py).

- package/crossplane.yaml depends on a provider package for every API group the
  function composes (the complete example with its observed state renders every kind).
- Both Compositions' functionRef name the Function object Crossplane creates when it
  resolves the Configuration's function dependency.
- The ManagedResourceActivationPolicy activates exactly the managed resource kinds the
  function composes for both APIs, by the names of their definitions in the provider
  CRDs (../shared/crds).
"""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import REPO_ROOT, render_full_graph

CONFIGURATION_META = REPO_ROOT / "package" / "crossplane.yaml"
FUNCTION_META = REPO_ROOT / "package" / "function" / "crossplane.yaml"
COMPOSITIONS = [
    REPO_ROOT / "apis" / "composition.yaml",
    REPO_ROOT / "apis" / "namespaced" / "composition.yaml",
]
ACTIVATION_POLICY = REPO_ROOT / "apis" / "activation-policy.yaml"
CRDS = REPO_ROOT.parent / "shared" / "crds"

# API group -> the provider package that serves it (the family packages serve both the
# cluster-scoped group and its namespaced `.m.` twin).
UPJET_AWS_GROUP = re.compile(r"^([a-z0-9]+)\.aws\.(?:m\.)?upbound\.io$")
CROSSPLANE_OWN = {"apiextensions.crossplane.io", "protection.crossplane.io"}
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
def composed(function_bin) -> list[dict]:
    """Every resource of both complete examples' full graphs (claim and namespaced)."""
    docs = list(render_full_graph(function_bin, REPO_ROOT / "examples" / "complete.yaml").values())
    docs += render_full_graph(
        function_bin,
        REPO_ROOT / "examples" / "v2" / "complete.yaml",
        REPO_ROOT / "examples" / "v2" / "observed",
    ).values()
    assert docs, "render produced no resources"
    return docs


@pytest.fixture(scope="module")
def composed_groups(composed) -> set[str]:
    # Core kinds (`v1` Secrets of the namespaced API) have no group and no provider.
    return {doc["apiVersion"].split("/")[0] for doc in composed if "/" in doc["apiVersion"]}


def test_every_composed_group_has_its_provider(composed_groups):
    providers = {d["provider"]: d["version"] for d in dependencies() if "provider" in d}
    names = {p.rsplit("/", 1)[-1] for p in providers}
    missing = []
    for group in sorted(composed_groups):
        if group in CROSSPLANE_OWN:
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
    for composition in COMPOSITIONS:
        refs = [step["functionRef"]["name"] for step in load(composition)["spec"]["pipeline"]]
        assert refs == [installed_name], (
            f"the Configuration installs its function as {installed_name!r}; "
            f"{composition.name} calls {refs}"
        )


def crd_names() -> dict[tuple[str, str], str]:
    """(group, kind) -> the CRD's name (`<plural>.<group>`), which is also the name of
    the ManagedResourceDefinition Crossplane 2 makes of it."""
    out = {}
    for path in list(CRDS.glob("*.yaml")) + list((CRDS / "namespaced").glob("*.yaml")):
        crd = load(path)
        if crd.get("kind") == "CustomResourceDefinition":
            out[(crd["spec"]["group"], crd["spec"]["names"]["kind"])] = crd["metadata"]["name"]
    return out


def test_activation_policy_activates_exactly_what_is_composed(composed):
    names = crd_names()
    wanted = set()
    for doc in composed:
        group = doc["apiVersion"].split("/")[0] if "/" in doc["apiVersion"] else ""
        if group in CROSSPLANE_OWN or group == "":
            continue  # Crossplane's and Kubernetes' own kinds are not managed resources
        assert (group, doc["kind"]) in names, f"no CRD in {CRDS} for {group} {doc['kind']}"
        wanted.add(names[(group, doc["kind"])])
    policy = load(ACTIVATION_POLICY)
    assert policy["kind"] == "ManagedResourceActivationPolicy"
    activated = policy["spec"]["activate"]
    assert not [a for a in activated if "*" in a], "no wildcards: activate exactly what is composed"
    assert sorted(activated) == activated, "keep the list sorted"
    assert set(activated) == wanted, (
        f"missing: {sorted(wanted - set(activated))}; not composed: {sorted(set(activated) - wanted)}"
    )


def test_dns_label_matches_crossplane():
    assert to_dns_label("crossplane-contrib/function-patch-and-transform") == (
        "crossplane-contrib-function-patch-and-transform"
    )
    assert repository_path("xpkg.crossplane.io/imagecdn/function-imagecdn") == (
        "imagecdn/function-imagecdn"
    )
