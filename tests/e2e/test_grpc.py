"""End-to-end tests of the function-imagecdn binary over gRPC, with the stubs
Crossplane's Python SDK generates (as Crossplane itself would call it)."""

from __future__ import annotations

import subprocess

import grpc
import pytest
from crossplane.function.proto.v1 import run_function_pb2, run_function_pb2_grpc
from google.protobuf import descriptor_pool
from google.protobuf.json_format import MessageToDict, ParseDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)

from conftest import free_port, function_env

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


def run_function(channel: grpc.Channel, xr: dict, tag: str) -> run_function_pb2.RunFunctionResponse:
    request = ParseDict(
        {"meta": {"tag": tag}, "observed": {"composite": {"resource": xr}}},
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
