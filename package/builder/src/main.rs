//! `imagecdn-package`: assembles ImageCDN's release artifacts from already-built binaries
//! (package/build.sh builds them first). Nothing here needs Docker, a registry or the
//! network, and every output is a pure function of the inputs (see oci.rs).
//!
//! Writes into `--out`:
//! - `function-imagecdn-runtime.tar`  the runtime image (scratch-style, one layer)
//! - `function-imagecdn.xpkg`         runtime image + package.yaml layer (base)
//! - `configuration-imagecdn.xpkg`    package.yaml layer (base) + examples layer
//! - `oci/<name>/`                    the same three images as OCI image layouts
//! - `renderer.zip`                   arm64 `bootstrap` for Lambda's provided.al2023 runtime
//! - `renderer-x86_64.zip`            the same renderer built for x86_64
//! - `artifacts.json`, `SHA256SUMS`   sizes and digests of all of the above
//!
//! The `.xpkg` and `.tar` files are go-containerregistry tarballs: what `crossplane xpkg
//! build` writes and `crossplane xpkg push -f` reads, and skopeo's `docker-archive:`.

mod oci;
mod xpkg;

use std::collections::BTreeMap;
use std::fs;
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use serde::Serialize;
use serde_json::Value;

use oci::{Entry, ExecConfig, Image, Layer};

#[derive(Parser)]
#[command(about = "Builds ImageCDN's Crossplane packages and Lambda zips reproducibly")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build every artifact into --out.
    Build(BuildArgs),
}

#[derive(clap::Args)]
struct BuildArgs {
    /// The repository root (apis/, examples/, package/).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// The static function-imagecdn binary for the runtime image.
    #[arg(long)]
    function_bin: PathBuf,
    /// The static arm64 renderer binary (becomes `bootstrap` in renderer.zip, the claim's
    /// default `spec.artifacts.renderer.architecture`).
    #[arg(long)]
    renderer_bin: PathBuf,
    /// The static x86_64 renderer binary (becomes `bootstrap` in renderer-x86_64.zip).
    #[arg(long)]
    renderer_x86_64_bin: PathBuf,
    /// Package version, a semantic version with a leading v (v0.1.0).
    #[arg(long)]
    version: String,
    /// Image architecture of the binaries (OCI name: amd64, arm64).
    #[arg(long, default_value = "amd64")]
    arch: String,
    /// Seconds since the epoch for every mtime and the configs' `created`
    /// (package/build.sh passes $SOURCE_DATE_EPOCH, default 0).
    #[arg(long, default_value_t = 0)]
    source_date_epoch: u64,
    /// Optional VCS revision for the org.opencontainers.image.revision label.
    #[arg(long)]
    revision: Option<String>,
}

const FUNCTION_PATH: &str = "function-imagecdn";
/// The objects of the Configuration package, in package.yaml order.
const CONFIGURATION_OBJECTS: [&str; 5] = [
    "apis/definition.yaml",
    "apis/composition.yaml",
    "apis/namespaced/definition.yaml",
    "apis/namespaced/composition.yaml",
    "apis/activation-policy.yaml",
];
const NONROOT: u64 = 65532;
const GRPC_PORT: &str = "9443/tcp";

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Build(args) => build(&args),
    }
}

/// RFC 3339 UTC for a Unix time (civil-from-days, proleptic Gregorian).
fn rfc3339(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn read(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// OCI labels from the package metadata's annotations.
fn oci_labels(
    meta: &Value,
    title: &str,
    version: &str,
    revision: Option<&str>,
) -> BTreeMap<String, String> {
    let annotation = |key: &str| {
        meta.pointer("/metadata/annotations")
            .and_then(|a| a.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let mut source = annotation("meta.crossplane.io/source");
    if !source.contains("://") {
        source = format!("https://{source}");
    }
    let mut labels = BTreeMap::from([
        (
            "org.opencontainers.image.title".to_string(),
            title.to_string(),
        ),
        (
            "org.opencontainers.image.description".to_string(),
            annotation("meta.crossplane.io/description"),
        ),
        ("org.opencontainers.image.source".to_string(), source),
        (
            "org.opencontainers.image.licenses".to_string(),
            annotation("meta.crossplane.io/license"),
        ),
        (
            "org.opencontainers.image.vendor".to_string(),
            annotation("meta.crossplane.io/maintainer"),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            version.to_string(),
        ),
    ]);
    if let Some(rev) = revision {
        labels.insert(
            "org.opencontainers.image.revision".to_string(),
            rev.to_string(),
        );
    }
    labels
}

/// The function's runtime image: the static binary plus the few files a scratch image
/// needs to run as a named non-root user (passwd, group, a sticky /tmp). No shell.
fn runtime_image(args: &BuildArgs, meta: &Value, created: &str) -> Result<Image> {
    let binary = read(&args.function_bin)?;
    if !binary.starts_with(b"\x7fELF") {
        bail!("{} is not an ELF binary", args.function_bin.display());
    }
    let passwd = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/nonexistent:/sbin/nologin\n";
    let group = "root:x:0:\nnonroot:x:65532:\n";
    let layer = Layer::new(
        vec![
            Entry::dir("etc", 0o755),
            Entry::file("etc/group", 0o644, group.as_bytes().to_vec()),
            Entry::file("etc/passwd", 0o644, passwd.as_bytes().to_vec()),
            Entry::file(FUNCTION_PATH, 0o755, binary),
            Entry::dir("tmp", 0o1777),
        ],
        args.source_date_epoch,
        "imagecdn-package: function-imagecdn (static), /etc/passwd, /etc/group, /tmp",
        None,
    )?;
    let description = "Crossplane composition function that expands an ImageCDN claim into its AWS managed resources";
    let mut labels = oci_labels(
        meta,
        "function-imagecdn",
        &args.version,
        args.revision.as_deref(),
    );
    labels.insert(
        "org.opencontainers.image.description".to_string(),
        description.to_string(),
    );
    Ok(Image {
        architecture: args.arch.clone(),
        os: "linux".to_string(),
        created: created.to_string(),
        exec: ExecConfig {
            user: Some(format!("{NONROOT}:{NONROOT}")),
            exposed_ports: BTreeMap::from([(GRPC_PORT.to_string(), Default::default())]),
            entrypoint: Some(vec![format!("/{FUNCTION_PATH}")]),
            working_dir: Some("/".to_string()),
            labels,
        },
        layers: vec![layer],
    })
}

fn package_layer(stream: &str, mtime: u64) -> Result<Layer> {
    Layer::new(
        vec![Entry::file(
            xpkg::STREAM_FILE,
            0o644,
            stream.as_bytes().to_vec(),
        )],
        mtime,
        "crossplane xpkg: package.yaml",
        Some(xpkg::BASE_ANNOTATION),
    )
}

/// `bootstrap` (0755) in a zip with fixed dates, as Lambda's provided.al2023 wants it.
/// The instruction sets Lambda runs, as ELF's `e_machine` numbers them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ElfMachine {
    X86_64 = 62,
    Aarch64 = 183,
}

/// Refuses a binary that is not a 64-bit little-endian ELF for `machine`: a zip whose
/// `bootstrap` does not match the function's `Architectures` fails only at invocation
/// (`Runtime.InvalidEntrypoint`), long after the package was published.
fn check_elf_machine(binary: &[u8], machine: ElfMachine) -> Result<()> {
    if binary.len() < 20 || !binary.starts_with(b"\x7fELF") {
        bail!("not an ELF binary");
    }
    if binary[4] != 2 || binary[5] != 1 {
        bail!("not a 64-bit little-endian ELF binary");
    }
    let found = u16::from_le_bytes([binary[18], binary[19]]);
    if found != machine as u16 {
        bail!(
            "built for ELF machine {found}, expected {machine:?} ({})",
            machine as u16
        );
    }
    Ok(())
}

fn lambda_zip(binary: &[u8]) -> Result<Vec<u8>> {
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(zip::DateTime::DEFAULT)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

#[derive(Serialize)]
struct LayerReport {
    digest: String,
    diff_id: String,
    size: u64,
    uncompressed_size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    xpkg_annotation: Option<String>,
}

#[derive(Serialize)]
struct ImageReport {
    /// The config digest (the image ID); the same in the tarball and the OCI layout.
    config_digest: String,
    /// The OCI manifest digest (what `skopeo copy oci:...` pushes).
    oci_manifest_digest: String,
    oci_layout: String,
    oci_ref: String,
    compressed_size: u64,
    uncompressed_size: u64,
    layers: Vec<LayerReport>,
}

#[derive(Serialize)]
struct Artifact {
    file: String,
    size: u64,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<ImageReport>,
}

#[derive(Serialize)]
struct Report {
    version: String,
    artifacts: Vec<Artifact>,
}

fn file_artifact(out: &Path, name: &str) -> Result<Artifact> {
    let data = read(&out.join(name))?;
    Ok(Artifact {
        file: name.to_string(),
        size: data.len() as u64,
        sha256: oci::sha256_hex(&data),
        image: None,
    })
}

fn image_artifact(
    args: &BuildArgs,
    file: &str,
    layout: &str,
    image: &Image,
    tags: Option<&[String]>,
) -> Result<Artifact> {
    oci::write_tarball(&args.out.join(file), image, tags, args.source_date_epoch)?;
    let layout_dir = args.out.join("oci").join(layout);
    let manifest_digest = oci::write_oci_layout(&layout_dir, image, &args.version)?;
    let mut artifact = file_artifact(&args.out, file)?;
    artifact.image = Some(ImageReport {
        config_digest: oci::digest_of(&image.config_blob()?),
        oci_manifest_digest: manifest_digest,
        oci_layout: format!("oci/{layout}"),
        oci_ref: args.version.clone(),
        compressed_size: image.compressed_size(),
        uncompressed_size: image.uncompressed_size(),
        layers: image
            .layers
            .iter()
            .map(|l| LayerReport {
                digest: l.digest.clone(),
                diff_id: l.diff_id.clone(),
                size: l.blob.len() as u64,
                uncompressed_size: l.uncompressed_size,
                xpkg_annotation: l.xpkg_annotation.clone(),
            })
            .collect(),
    });
    Ok(artifact)
}

fn build(args: &BuildArgs) -> Result<()> {
    let version_ok = args.version.strip_prefix('v').is_some_and(|v| {
        let core = v.split(['-', '+']).next().unwrap_or("");
        core.split('.').count() == 3
            && core
                .split('.')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    });
    if !version_ok {
        bail!(
            "--version must be a semantic version with a leading v (v0.1.0), not {}",
            args.version
        );
    }
    let root = &args.root;
    fs::create_dir_all(&args.out)?;
    let created = rfc3339(args.source_date_epoch);
    let mtime = args.source_date_epoch;

    // The Function package: runtime image + package.yaml (Function metadata).
    let function_meta_path = root.join("package/function/crossplane.yaml");
    let (function_stream, function_meta) =
        xpkg::package_stream(xpkg::Kind::Function, &function_meta_path, &[])?;
    let runtime = runtime_image(args, &function_meta, &created)?;
    let mut function_pkg = runtime.clone();
    function_pkg
        .layers
        .push(package_layer(&function_stream, mtime)?);

    // The Configuration package: package.yaml (metadata, both APIs' XRDs and
    // Compositions, the activation policy) + examples of both APIs.
    let config_meta_path = root.join("package/crossplane.yaml");
    let objects: Vec<PathBuf> = CONFIGURATION_OBJECTS.iter().map(|p| root.join(p)).collect();
    let object_refs: Vec<&Path> = objects.iter().map(PathBuf::as_path).collect();
    let (config_stream, config_meta) =
        xpkg::package_stream(xpkg::Kind::Configuration, &config_meta_path, &object_refs)?;
    let mut example_files = Vec::new();
    for dir in ["examples", "examples/v2"] {
        for entry in fs::read_dir(root.join(dir))? {
            let path = entry?.path();
            if path.is_file() && path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                example_files.push(path);
            }
        }
    }
    example_files.sort();
    let example_refs: Vec<&Path> = example_files.iter().map(PathBuf::as_path).collect();
    let examples = xpkg::examples_stream(&example_refs)?;
    let examples_layer = Layer::new(
        vec![Entry::file(
            xpkg::EXAMPLES_FILE,
            0o644,
            examples.into_bytes(),
        )],
        mtime,
        "crossplane xpkg: examples",
        Some(xpkg::EXAMPLES_ANNOTATION),
    )?;
    let configuration = Image {
        architecture: args.arch.clone(),
        os: "linux".to_string(),
        created: created.clone(),
        exec: ExecConfig {
            labels: oci_labels(
                &config_meta,
                "configuration-imagecdn",
                &args.version,
                args.revision.as_deref(),
            ),
            ..Default::default()
        },
        layers: vec![package_layer(&config_stream, mtime)?, examples_layer],
    };

    let runtime_tag = [format!("function-imagecdn-runtime:{}", args.version)];
    let mut artifacts = vec![
        image_artifact(
            args,
            "function-imagecdn-runtime.tar",
            "function-imagecdn-runtime",
            &runtime,
            Some(&runtime_tag),
        )?,
        image_artifact(
            args,
            "function-imagecdn.xpkg",
            "function-imagecdn",
            &function_pkg,
            None,
        )?,
        image_artifact(
            args,
            "configuration-imagecdn.xpkg",
            "configuration-imagecdn",
            &configuration,
            None,
        )?,
    ];

    for (bin, machine, zip_name) in [
        (&args.renderer_bin, ElfMachine::Aarch64, "renderer.zip"),
        (
            &args.renderer_x86_64_bin,
            ElfMachine::X86_64,
            "renderer-x86_64.zip",
        ),
    ] {
        let renderer = read(bin)?;
        check_elf_machine(&renderer, machine)
            .with_context(|| format!("--renderer-*-bin {}", bin.display()))?;
        oci::write_atomically(&args.out.join(zip_name), &lambda_zip(&renderer)?)?;
        artifacts.push(file_artifact(&args.out, zip_name)?);
    }
    // Built by lambda/edge/build.sh (package/build.sh runs it first when it exists).
    if args.out.join("edge-transform.zip").is_file() {
        artifacts.push(file_artifact(&args.out, "edge-transform.zip")?);
    } else {
        eprintln!(
            "warning: {} is missing (lambda/edge/build.sh makes it)",
            args.out.join("edge-transform.zip").display()
        );
    }

    let sums: String = artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.file))
        .collect();
    fs::write(args.out.join("SHA256SUMS"), sums)?;
    let report = Report {
        version: args.version.clone(),
        artifacts,
    };
    fs::write(
        args.out.join("artifacts.json"),
        serde_json::to_string_pretty(&report)? + "\n",
    )?;

    println!(
        "{:<34} {:>11}  sha256 (file) / config / OCI manifest",
        "artifact", "bytes"
    );
    for a in &report.artifacts {
        println!("{:<34} {:>11}  {}", a.file, a.size, a.sha256);
        if let Some(image) = &a.image {
            println!("{:<34} {:>11}  config   {}", "", "", image.config_digest);
            println!(
                "{:<34} {:>11}  manifest {}",
                format!("  {}:{}", image.oci_layout, image.oci_ref),
                "",
                image.oci_manifest_digest
            );
            println!(
                "{:<34} {:>11}  layers: {} compressed, {} uncompressed",
                "", "", image.compressed_size, image.uncompressed_size
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_767_225_599), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn elf_machine_must_match_the_zip() {
        let header = |class: u8, machine: u16| {
            let mut h = b"\x7fELF".to_vec();
            h.extend([class, 1, 1, 0]);
            h.extend([0; 10]);
            h.extend(machine.to_le_bytes());
            h
        };
        assert!(check_elf_machine(&header(2, 183), ElfMachine::Aarch64).is_ok());
        assert!(check_elf_machine(&header(2, 62), ElfMachine::X86_64).is_ok());
        let wrong = check_elf_machine(&header(2, 62), ElfMachine::Aarch64).unwrap_err();
        assert!(wrong.to_string().contains("expected Aarch64"), "{wrong}");
        assert!(check_elf_machine(&header(1, 183), ElfMachine::Aarch64).is_err());
        assert!(check_elf_machine(b"#!/bin/sh\n", ElfMachine::X86_64).is_err());
    }

    #[test]
    fn lambda_zip_is_reproducible_and_executable() {
        let one = lambda_zip(b"\x7fELF...").unwrap();
        assert_eq!(one, lambda_zip(b"\x7fELF...").unwrap());
        let mut archive = zip::ZipArchive::new(Cursor::new(one)).unwrap();
        let file = archive.by_index(0).unwrap();
        assert_eq!(file.name().unwrap(), "bootstrap");
        assert_eq!(file.unix_mode().map(|m| m & 0o777), Some(0o755));
    }
}
