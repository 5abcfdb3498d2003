"""End-to-end tests of the function-imagecdn binary over gRPC, with the stubs
Crossplane's Python SDK generates (as Crossplane itself would call it)."""

from __future__ import annotations

import subprocess

import grpc
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2, run_function_pb2_grpc
from google.protobuf import descriptor_pool
from google.protobuf.json_format import MessageToDict, ParseDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from conftest import REPO_ROOT, free_port, function_env

SERVICE = "apiextensions.fn.proto.v1.FunctionRunnerService"
RPC_TIMEOUT_S = 30

FIRST_PASS_RESOURCES = (
    "originals-primary",
    "originals-replica-1",
    "originals-replica-2",
    "variants",
    "logs",
    "cache-policy",
    "edge-function",
    "renderer-function",
)
EXPECTED_ORIGINALS = {
    "originals-primary": "us-east-1",
    "originals-replica-1": "eu-west-1",
    "originals-replica-2": "ap-northeast-1",
}


# --- helpers -------------------------------------------------------------------


class _NoTimestamps(yaml.SafeLoader):
    """YAML as Kubernetes reads it: timestamps stay strings (protobuf Structs hold JSON)."""


_NoTimestamps.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(path) -> dict:
    return yaml.load(path.read_text(), Loader=_NoTimestamps)


def run_function(
    channel: grpc.Channel, xr: dict, tag: str, observed: dict[str, dict] | None = None
) -> run_function_pb2.RunFunctionResponse:
    state = {"composite": {"resource": xr}}
    if observed:
        state["resources"] = {name: {"resource": body} for name, body in observed.items()}
    request = ParseDict(
        {"meta": {"tag": tag}, "observed": state},
        run_function_pb2.RunFunctionRequest(),
    )
    stub = run_function_pb2_grpc.FunctionRunnerServiceStub(channel)
    return stub.RunFunction(request, timeout=RPC_TIMEOUT_S)


def desired_resources(response: run_function_pb2.RunFunctionResponse) -> dict[str, dict]:
    return {
        name: MessageToDict(resource.resource)
        for name, resource in response.desired.resources.items()
    }


def fatal_messages(response: run_function_pb2.RunFunctionResponse) -> list[str]:
    return [r.message for r in response.results if r.severity == run_function_pb2.SEVERITY_FATAL]


def describe_results(response: run_function_pb2.RunFunctionResponse) -> str:
    return "; ".join(
        f"{run_function_pb2.Severity.Name(r.severity)}: {r.message}" for r in response.results
    ) or "<no results>"


def assert_first_pass(response: run_function_pb2.RunFunctionResponse, tag: str) -> None:
    """The minimal claim with nothing observed yet: everything but the
    distribution is desired."""
    assert response.meta.tag == tag
    assert not fatal_messages(response), describe_results(response)

    desired = desired_resources(response)
    missing = [name for name in FIRST_PASS_RESOURCES if name not in desired]
    assert not missing, f"missing desired resources {missing}; got {sorted(desired)}"
    assert "distribution" not in desired, (
        "the distribution must wait for the observed bucket domain names"
    )

    for name, region in EXPECTED_ORIGINALS.items():
        bucket = desired[name]
        assert bucket.get("apiVersion") == "s3.aws.upbound.io/v1beta2", (name, bucket)
        assert bucket.get("kind") == "Bucket", (name, bucket)
        assert bucket.get("spec", {}).get("forProvider", {}).get("region") == region, (
            name,
            bucket,
        )


def assert_fatal_naming(response, tag: str, field: str) -> None:
    assert response.meta.tag == tag
    fatal = fatal_messages(response)
    assert fatal, f"expected a FATAL result naming {field}; got {describe_results(response)}"
    assert any(field in message for message in fatal), (
        f"no FATAL result names {field}: {fatal}"
    )
    assert len(response.desired.resources) == 0, (
        f"a rejected claim must add no desired resources; got "
        f"{sorted(response.desired.resources)}"
    )


def assert_refused(channel: grpc.Channel, xr: dict) -> None:
    with pytest.raises(grpc.RpcError) as err:
        run_function(channel, xr, "must-be-refused")
    # The refusal is the TLS handshake failing, not a deadline.
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, (
        err.value.code(),
        err.value.details(),
    )


# --- insecure -------------------------------------------------------------------


class TestInsecure:
    def test_first_pass_of_minimal_claim(self, insecure_server, minimal_xr):
        with grpc.insecure_channel(insecure_server.address) as channel:
            response = run_function(channel, minimal_xr, "first-pass")
        assert_first_pass(response, "first-pass")

    def test_duplicate_replica_region_is_fatal(self, insecure_server, minimal_xr):
        minimal_xr["spec"]["regions"] = {
            "primary": "us-east-1",
            "replicas": ["eu-west-1", "us-east-1"],
        }
        with grpc.insecure_channel(insecure_server.address) as channel:
            response = run_function(channel, minimal_xr, "bad-regions")
        assert_fatal_naming(response, "bad-regions", "spec.regions.replicas[1]")

    def test_no_tenants_is_fatal(self, insecure_server, minimal_xr):
        minimal_xr["spec"]["tenants"] = []
        with grpc.insecure_channel(insecure_server.address) as channel:
            response = run_function(channel, minimal_xr, "no-tenants")
        assert_fatal_naming(response, "no-tenants", "spec.tenants")

    def test_namespaced_xr_composes_namespaced_resources(self, insecure_server):
        """Crossplane v2's namespaced ImageCDN (examples/v2/complete.yaml) with every
        resource observed: the whole graph comes back as namespaced managed resources,
        Secrets and Usages in the XR's namespace, originals kept without a deletion
        policy."""
        xr = yaml.safe_load((REPO_ROOT / "examples" / "v2" / "complete.yaml").read_text())
        observed = {}
        for path in sorted((REPO_ROOT / "examples" / "v2" / "observed").glob("*.yaml")):
            body = load_yaml(path)
            observed[body["metadata"]["annotations"]["crossplane.io/composition-resource-name"]] = body
        with grpc.insecure_channel(insecure_server.address) as channel:
            response = run_function(channel, xr, "namespaced", observed)
        assert not fatal_messages(response), describe_results(response)
        desired = desired_resources(response)
        assert len(desired) == len(observed), sorted(set(observed) - set(desired))
        wrong = []
        for name, r in desired.items():
            group = r["apiVersion"].split("/")[0]
            if not (
                group.endswith(".aws.m.upbound.io")
                or r["apiVersion"] == "protection.crossplane.io/v1beta1"
                or (r["apiVersion"] == "v1" and r["kind"] == "Secret")
            ):
                wrong.append(f"{name}: {r['apiVersion']} {r['kind']}")
            if r["metadata"].get("namespace") != "team-media":
                wrong.append(f"{name}: namespace {r['metadata'].get('namespace')}")
            if group.endswith(".aws.m.upbound.io"):
                if r["spec"]["providerConfigRef"] != {"kind": "ClusterProviderConfig", "name": "default"}:
                    wrong.append(f"{name}: providerConfigRef {r['spec']['providerConfigRef']}")
                if "deletionPolicy" in r["spec"]:
                    wrong.append(f"{name}: deletionPolicy")
        assert not wrong, wrong
        for name in EXPECTED_ORIGINALS:
            policies = desired[name]["spec"]["managementPolicies"]
            assert "Delete" not in policies and "*" not in policies, (name, policies)
        function = desired["viewer-function"]["spec"]["forProvider"]["codeSecretRef"]
        assert "namespace" not in function, function
        assert desired["viewer-function-code"]["kind"] == "Secret"

    def test_namespaced_xr_cannot_name_a_secret_namespace(self, insecure_server):
        xr = yaml.safe_load((REPO_ROOT / "examples" / "v2" / "minimal.yaml").read_text())
        xr["spec"]["providerConfig"] = {"secretNamespace": "kube-system"}
        with grpc.insecure_channel(insecure_server.address) as channel:
            response = run_function(channel, xr, "namespaced-secret-namespace")
        assert_fatal_naming(
            response, "namespaced-secret-namespace", "spec.providerConfig.secretNamespace"
        )

    @pytest.mark.parametrize("service", ["", SERVICE])
    def test_health_reports_serving(self, insecure_server, service):
        with grpc.insecure_channel(insecure_server.address) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            response = stub.Check(
                health_pb2.HealthCheckRequest(service=service), timeout=RPC_TIMEOUT_S
            )
        assert response.status == health_pb2.HealthCheckResponse.SERVING

    def test_reflection_lists_function_runner_service(self, insecure_server):
        with grpc.insecure_channel(insecure_server.address) as channel:
            database = ProtoReflectionDescriptorDatabase(channel)
            services = database.get_services()
            assert SERVICE in services, services
            # The served descriptors are complete enough to resolve the method.
            pool = descriptor_pool.DescriptorPool(database)
            method = pool.FindServiceByName(SERVICE).FindMethodByName("RunFunction")
            assert method.input_type.full_name == "apiextensions.fn.proto.v1.RunFunctionRequest"
            assert method.output_type.full_name == "apiextensions.fn.proto.v1.RunFunctionResponse"


# --- mTLS -----------------------------------------------------------------------


class TestMutualTls:
    def test_first_pass_with_client_certificate(self, mtls_server, tls_material, minimal_xr):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls_material.ca.cert_pem,
            private_key=tls_material.client.key_pem,
            certificate_chain=tls_material.client.cert_pem,
        )
        with grpc.secure_channel(mtls_server.address, credentials) as channel:
            response = run_function(channel, minimal_xr, "mtls-first-pass")
        assert_first_pass(response, "mtls-first-pass")

    def test_client_without_certificate_is_refused(self, mtls_server, tls_material, minimal_xr):
        credentials = grpc.ssl_channel_credentials(root_certificates=tls_material.ca.cert_pem)
        with grpc.secure_channel(mtls_server.address, credentials) as channel:
            assert_refused(channel, minimal_xr)

    def test_client_certificate_from_untrusted_ca_is_refused(
        self, mtls_server, tls_material, minimal_xr
    ):
        credentials = grpc.ssl_channel_credentials(
            root_certificates=tls_material.ca.cert_pem,
            private_key=tls_material.rogue_client.key_pem,
            certificate_chain=tls_material.rogue_client.cert_pem,
        )
        with grpc.secure_channel(mtls_server.address, credentials) as channel:
            assert_refused(channel, minimal_xr)

    def test_plaintext_client_is_refused(self, mtls_server, minimal_xr):
        with grpc.insecure_channel(mtls_server.address) as channel:
            assert_refused(channel, minimal_xr)


# --- process lifecycle ----------------------------------------------------------


def test_sigterm_stops_gracefully(start_function):
    process = start_function("--insecure")
    assert process.stop() == 0, process.log()


def test_refuses_to_start_without_credentials(function_bin):
    """Neither --insecure nor --tls-certs-dir: the SDK must not serve plaintext."""
    result = subprocess.run(
        [
            str(function_bin),
            "--address",
            f"127.0.0.1:{free_port()}",
            "--metrics-address",
            f"127.0.0.1:{free_port()}",
        ],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=function_env(),
        timeout=20,
    )
    assert result.returncode != 0, result
