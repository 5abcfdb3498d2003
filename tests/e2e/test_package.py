"""The built release artifacts (package/build.sh), read back with independent OCI tools.

Runs when IMAGECDN_DIST points at the output of package/build.sh (the package stage
of tests/run.sh sets it); skipped otherwise, so the default e2e stage does not need the
slow static release build.

- skopeo reads every .xpkg/.tar as `docker-archive:` (the go-containerregistry tarball
  `crossplane xpkg push -f` reads) and every OCI layout as `oci:`; the layer digests,
  the `io.crossplane.xpkg` layer annotations (OCI) and the matching config labels
  `io.crossplane.xpkg:<layer digest>` (both forms) are what Crossplane's xpkg build
  writes.
- umoci unpacks each package: `package.yaml` holds exactly the expected objects, in
  order, equal to the sources; the examples layer holds examples/*.yaml.
- The function binary, unpacked from the Function package, starts with --insecure and
  answers RunFunction.
- The builder, run again on the same inputs, writes byte-identical artifacts.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tarfile
import zipfile
from pathlib import Path

import grpc
import pytest
import yaml
from crossplane.function.proto.v1 import run_function_pb2

from conftest import REPO_ROOT, FunctionProcess
from test_grpc import assert_first_pass, run_function

DIST = os.environ.get("IMAGECDN_DIST")
pytestmark = pytest.mark.skipif(
    not DIST, reason="IMAGECDN_DIST is not set (the package stage of tests/run.sh sets it)"
)

XPKG = "io.crossplane.xpkg"
FUNCTION_IMAGE_LIMIT = 20 * 1024 * 1024
TOOL_TIMEOUT_S = 120

# file in dist -> (OCI layout, expected io.crossplane.xpkg annotation per layer)
IMAGES = {
    "function-imagecdn-runtime.tar": ("function-imagecdn-runtime", [None]),
    "function-imagecdn.xpkg": ("function-imagecdn", [None, "base"]),
    "configuration-imagecdn.xpkg": ("configuration-imagecdn", ["base", "upbound"]),
}


@pytest.fixture(scope="module")
def dist() -> Path:
    path = Path(DIST)
    assert (path / "artifacts.json").is_file(), f"{path}/artifacts.json missing: run package/build.sh"
    return path


@pytest.fixture(scope="module")
def report(dist) -> dict:
    return json.loads((dist / "artifacts.json").read_text())


@pytest.fixture(scope="module")
def artifacts(report) -> dict[str, dict]:
    return {a["file"]: a for a in report["artifacts"]}


def tool(*args: str) -> str:
    exe = shutil.which(args[0])
    assert exe, f"{args[0]} not installed (tests/run.sh installs skopeo and umoci)"
    out = subprocess.run([exe, *args[1:]], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S)
    assert out.returncode == 0, f"{' '.join(args)} failed ({out.returncode}):\n{out.stderr}"
    return out.stdout


def skopeo_json(what: str, ref: str) -> dict:
    return json.loads(tool("skopeo", "inspect", "--tls-verify=false", what, ref))


def oci_ref(dist: Path, report: dict, layout: str) -> str:
    return f"oci:{dist / 'oci' / layout}:{report['version']}"


def unpack(dist: Path, report: dict, layout: str, dest: Path) -> Path:
    args = ["umoci", "unpack"]
    if os.geteuid() != 0:
        args.append("--rootless")
    tool(*args, "--image", f"{dist / 'oci' / layout}:{report['version']}", str(dest))
    return dest / "rootfs"


def yaml_docs(text: str) -> list[dict]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def load(path: Path) -> dict:
    (doc,) = yaml_docs(path.read_text())
    return doc


def expected_labels(artifact: dict) -> dict[str, str]:
    return {
        f"{XPKG}:{layer['digest']}": layer["xpkg_annotation"]
        for layer in artifact["image"]["layers"]
        if layer.get("xpkg_annotation")
    }


# --- skopeo ------------------------------------------------------------------------


@pytest.mark.parametrize("file", sorted(IMAGES))
def test_skopeo_reads_the_tarball(dist, artifacts, file):
    """docker-archive: is the format `crossplane xpkg build` writes and `xpkg push -f`
    reads; the annotations live in the config labels there. skopeo reads the layers
    as `docker save` layers (it reports their uncompressed digests)."""
    artifact = artifacts[file]
    layers = artifact["image"]["layers"]
    ref = f"docker-archive:{dist / file}"
    manifest = skopeo_json("--raw", ref)
    config = skopeo_json("--config", ref)
    assert [layer["digest"] for layer in manifest["layers"]] == [l["diff_id"] for l in layers]
    assert manifest["config"]["digest"] == artifact["image"]["config_digest"]
    assert config["rootfs"]["diff_ids"] == [l["diff_id"] for l in layers]
    labels = config["config"].get("Labels") or {}
    xpkg_labels = {k: v for k, v in labels.items() if k.startswith(XPKG)}
    assert xpkg_labels == expected_labels(artifact)


@pytest.mark.parametrize("file", sorted(IMAGES))
def test_tarball_as_crossplane_reads_it(dist, artifacts, file):
    """What go-containerregistry's tarball.ImageFromPath (crossplane xpkg push -f) sees:
    one descriptor in manifest.json, the config by name, gzip layers whose sha256 are
    the layer digests, which are the keys of the io.crossplane.xpkg config labels."""
    artifact = artifacts[file]
    with tarfile.open(dist / file) as tar:
        names = tar.getnames()
        (descriptor,) = json.load(tar.extractfile("manifest.json"))
        config_bytes = tar.extractfile(descriptor["Config"]).read()
        blobs = [tar.extractfile(name).read() for name in descriptor["Layers"]]
    assert names[-1] == "manifest.json" and names[0] == descriptor["Config"]
    assert descriptor["Config"] == "sha256:" + hashlib.sha256(config_bytes).hexdigest()
    assert descriptor["Config"] == artifact["image"]["config_digest"]
    digests = ["sha256:" + hashlib.sha256(b).hexdigest() for b in blobs]
    assert digests == [l["digest"] for l in artifact["image"]["layers"]]
    assert all(b[:2] == b"\x1f\x8b" for b in blobs), "layers must be gzip"
    labels = json.loads(config_bytes)["config"]["Labels"]
    annotated = {k.split(":", 1)[1]: v for k, v in labels.items() if k.startswith(XPKG + ":")}
    assert set(annotated) <= set(digests)
    assert [annotated.get(d) for d in digests] == IMAGES[file][1]


@pytest.mark.parametrize("file", sorted(IMAGES))
def test_skopeo_reads_the_oci_layout_with_layer_annotations(dist, report, artifacts, file):
    layout, annotations = IMAGES[file]
    artifact = artifacts[file]
    ref = oci_ref(dist, report, layout)
    manifest = skopeo_json("--raw", ref)
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    got = [(layer.get("annotations") or {}).get(XPKG) for layer in manifest["layers"]]
    assert got == annotations
    assert [layer["digest"] for layer in manifest["layers"]] == [
        layer["digest"] for layer in artifact["image"]["layers"]
    ]
    # One base layer at most (the xpkg spec), and it is the package.yaml layer.
    assert got.count("base") == (0 if layout.endswith("-runtime") else 1)
    config = skopeo_json("--config", ref)
    assert manifest["config"]["digest"] == artifact["image"]["config_digest"]
    labels = config["config"]["Labels"]
    assert {k: v for k, v in labels.items() if k.startswith(XPKG)} == expected_labels(artifact)
    assert labels["org.opencontainers.image.source"] == "https://github.com/imagecdn/imagecdn"
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert labels["org.opencontainers.image.version"] == report["version"]


def test_function_package_extends_the_runtime_image(artifacts):
    runtime = artifacts["function-imagecdn-runtime.tar"]["image"]["layers"]
    package = artifacts["function-imagecdn.xpkg"]["image"]["layers"]
    assert package[: len(runtime)] == runtime


def test_runtime_image_config(dist, report):
    config = skopeo_json("--config", oci_ref(dist, report, "function-imagecdn"))
    assert config["os"] == "linux" and config["architecture"] == "amd64"
    exec_config = config["config"]
    assert exec_config["User"] == "65532:65532"
    assert exec_config["Entrypoint"] == ["/function-imagecdn"]
    assert list(exec_config["ExposedPorts"]) == ["9443/tcp"]
    assert "Cmd" not in exec_config and "Env" not in exec_config
    assert config["created"] == "1970-01-01T00:00:00Z" or os.environ.get("SOURCE_DATE_EPOCH")


def test_function_image_size(artifacts):
    image = artifacts["function-imagecdn.xpkg"]["image"]
    assert image["compressed_size"] < FUNCTION_IMAGE_LIMIT, image
    assert image["uncompressed_size"] < 2 * FUNCTION_IMAGE_LIMIT, image


# --- umoci -------------------------------------------------------------------------


def test_configuration_package_yaml(dist, report, tmp_path):
    rootfs = unpack(dist, report, "configuration-imagecdn", tmp_path / "bundle")
    assert sorted(p.relative_to(rootfs).as_posix() for p in rootfs.rglob("*") if p.is_file()) == [
        ".up/examples.yaml",
        "package.yaml",
    ]
    docs = yaml_docs((rootfs / "package.yaml").read_text())
    sources = [
        REPO_ROOT / "package" / "crossplane.yaml",
        REPO_ROOT / "apis" / "definition.yaml",
        REPO_ROOT / "apis" / "composition.yaml",
        REPO_ROOT / "apis" / "namespaced" / "definition.yaml",
        REPO_ROOT / "apis" / "namespaced" / "composition.yaml",
        REPO_ROOT / "apis" / "activation-policy.yaml",
    ]
    assert [(d["apiVersion"], d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("meta.pkg.crossplane.io/v1", "Configuration", "configuration-imagecdn"),
        ("apiextensions.crossplane.io/v1", "CompositeResourceDefinition", "ximagecdns.imagecdn.io"),
        ("apiextensions.crossplane.io/v1", "Composition", "imagecdn-aws"),
        ("apiextensions.crossplane.io/v2", "CompositeResourceDefinition", "imagecdns.m.imagecdn.io"),
        ("apiextensions.crossplane.io/v1", "Composition", "imagecdn-aws-namespaced"),
        ("apiextensions.crossplane.io/v1alpha1", "ManagedResourceActivationPolicy", "imagecdn"),
    ]
    assert docs == [load(p) for p in sources]

    examples = yaml_docs((rootfs / ".up" / "examples.yaml").read_text())
    example_files = sorted(
        list((REPO_ROOT / "examples").glob("*.yaml")) + list((REPO_ROOT / "examples" / "v2").glob("*.yaml"))
    )
    want = [d for p in example_files for d in yaml_docs(p.read_text())]
    assert examples == want
    assert {d["kind"] for d in examples} == {"ImageCDN"}


def test_function_package_yaml_and_rootfs(dist, report, tmp_path):
    rootfs = unpack(dist, report, "function-imagecdn", tmp_path / "bundle")
    docs = yaml_docs((rootfs / "package.yaml").read_text())
    assert docs == [load(REPO_ROOT / "package" / "function" / "crossplane.yaml")]
    assert docs[0]["kind"] == "Function" and docs[0]["metadata"]["name"] == "function-imagecdn"
    assert sorted(p.relative_to(rootfs).as_posix() for p in rootfs.rglob("*")) == [
        "etc",
        "etc/group",
        "etc/passwd",
        "function-imagecdn",
        "package.yaml",
        "tmp",
    ]
    binary = rootfs / "function-imagecdn"
    assert stat.S_IMODE(binary.stat().st_mode) == 0o755
    assert is_static_elf(binary.read_bytes()), "function-imagecdn must be statically linked"
    assert stat.S_IMODE((rootfs / "tmp").stat().st_mode) == 0o1777
    assert "nonroot:x:65532:65532:" in (rootfs / "etc" / "passwd").read_text()


def is_static_elf(data: bytes) -> bool:
    """A 64-bit ELF without a PT_INTERP program header (no dynamic loader)."""
    assert data[:4] == b"\x7fELF" and data[4] == 2, "not a 64-bit ELF"
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    types = [
        int.from_bytes(data[phoff + i * phentsize : phoff + i * phentsize + 4], "little")
        for i in range(phnum)
    ]
    return 3 not in types  # PT_INTERP


def test_unpacked_function_answers_run_function(dist, report, tmp_path, minimal_xr):
    rootfs = unpack(dist, report, "function-imagecdn", tmp_path / "bundle")
    fp = FunctionProcess(rootfs / "function-imagecdn", ["--insecure"], tmp_path / "function.log")
    try:
        fp.wait_until_accepting()
        with grpc.insecure_channel(fp.address) as channel:
            response = run_function(channel, minimal_xr, "from-package")
        assert isinstance(response, run_function_pb2.RunFunctionResponse)
        assert_first_pass(response, "from-package")
    finally:
        rc = fp.stop()
        print(f"--- {fp.args} ---\n{fp.log()}")
    assert rc is not None, "the function did not stop on SIGTERM"


# --- Lambda zips and reproducibility --------------------------------------------------


# ELF e_machine of each renderer zip's bootstrap: renderer.zip is the claim's default
# architecture (arm64).
RENDERER_ZIPS = {"renderer.zip": 183, "renderer-x86_64.zip": 62}


@pytest.mark.parametrize("name", sorted(RENDERER_ZIPS))
def test_renderer_zip(dist, name):
    with zipfile.ZipFile(dist / name) as z:
        (info,) = z.infolist()
        assert info.filename == "bootstrap"
        assert (info.external_attr >> 16) & 0o777 == 0o755
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        binary = z.read(info)
        assert is_static_elf(binary)
        assert int.from_bytes(binary[18:20], "little") == RENDERER_ZIPS[name]


def test_sha256sums_match_the_files(dist, artifacts):
    for name, artifact in artifacts.items():
        data = (dist / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == artifact["sha256"], name
        assert len(data) == artifact["size"], name


def test_builder_is_reproducible(dist, report, tmp_path):
    """The builder on the same inputs (the binaries in dist) writes identical bytes."""
    builder = Path(os.environ.get("IMAGECDN_PACKAGE_BIN", ""))
    if not builder.is_file():
        pytest.skip("IMAGECDN_PACKAGE_BIN is not set")
    out = tmp_path / "dist"
    for name in RENDERER_ZIPS:
        with zipfile.ZipFile(dist / name) as z:
            (tmp_path / name).write_bytes(z.read("bootstrap"))
    with tmp_path.joinpath("function-imagecdn").open("wb") as f:
        f.write(extract_function_binary(dist, report, tmp_path / "bundle"))
    subprocess.run(
        [
            str(builder), "build", "--root", str(REPO_ROOT), "--out", str(out),
            "--function-bin", str(tmp_path / "function-imagecdn"),
            "--renderer-bin", str(tmp_path / "renderer.zip"),
            "--renderer-x86-64-bin", str(tmp_path / "renderer-x86_64.zip"),
            "--version", report["version"],
            "--source-date-epoch", os.environ.get("SOURCE_DATE_EPOCH", "0"),
        ],
        check=True, capture_output=True, timeout=TOOL_TIMEOUT_S,
    )
    again = {a["file"]: a for a in json.loads((out / "artifacts.json").read_text())["artifacts"]}
    for name, artifact in again.items():
        assert (out / name).read_bytes() == (dist / name).read_bytes(), name
    first = {a["file"]: a for a in report["artifacts"] if a["file"] in again}
    assert again == first


def extract_function_binary(dist: Path, report: dict, dest: Path) -> bytes:
    rootfs = unpack(dist, report, "function-imagecdn-runtime", dest)
    return (rootfs / "function-imagecdn").read_bytes()
