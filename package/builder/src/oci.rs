//! OCI images without a daemon: deterministic layers, image configs, and the two on-disk
//! forms we ship.
//!
//! - The go-containerregistry tarball (the `docker save`-style format that `crossplane
//!   xpkg build` writes and `crossplane xpkg push -f` reads; skopeo reads it as
//!   `docker-archive:`): the config blob named `sha256:<hex>`, each layer as
//!   `<hex>.tar.gz`, then `manifest.json` (`[{"Config", "RepoTags", "Layers"}]`).
//!   That format has no place for layer annotations, so Crossplane keeps them as config
//!   labels `io.crossplane.xpkg:sha256:<layer digest>` and turns them into manifest
//!   annotations when it pushes.
//! - An OCI image layout directory (`oci:` for skopeo and umoci), whose manifest carries
//!   the `io.crossplane.xpkg` layer annotations directly.
//!
//! Everything is a pure function of the inputs: tar entries are sorted with fixed modes,
//! owners and mtimes; gzip has no name and a fixed mtime; JSON maps are sorted.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use flate2::{Compression, GzBuilder};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The layer annotation (and config label prefix) Crossplane reads.
pub const XPKG_ANNOTATION: &str = "io.crossplane.xpkg";

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(bytes))
}

/// One entry of a layer tarball. Directories end in `/`.
pub struct Entry {
    pub path: String,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    /// `None` for a directory.
    pub data: Option<Vec<u8>>,
}

impl Entry {
    pub fn dir(path: &str, mode: u32) -> Entry {
        Entry {
            path: format!("{}/", path.trim_end_matches('/')),
            mode,
            uid: 0,
            gid: 0,
            data: None,
        }
    }

    pub fn file(path: &str, mode: u32, data: Vec<u8>) -> Entry {
        Entry {
            path: path.to_string(),
            mode,
            uid: 0,
            gid: 0,
            data: Some(data),
        }
    }
}

/// A deterministic tar of `entries` (sorted by path, owner and mtime as given).
pub fn tarball(mut entries: Vec<Entry>, mtime: u64) -> Result<Vec<u8>> {
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    for pair in entries.windows(2) {
        if pair[0].path == pair[1].path {
            bail!("duplicate tar entry {}", pair[0].path);
        }
    }
    let mut builder = tar::Builder::new(Vec::new());
    for entry in &entries {
        if entry.path.starts_with('/') || entry.path.split('/').any(|c| c == "..") {
            bail!(
                "tar entry {} must be a relative path without ..",
                entry.path
            );
        }
        let mut header = tar::Header::new_ustar();
        header
            .set_path(&entry.path)
            .with_context(|| format!("tar path {}", entry.path))?;
        header.set_mode(entry.mode);
        header.set_uid(entry.uid);
        header.set_gid(entry.gid);
        header.set_mtime(mtime);
        header.set_username("")?;
        header.set_groupname("")?;
        match &entry.data {
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_size(0);
                header.set_cksum();
                builder.append(&header, std::io::empty())?;
            }
            Some(data) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_size(data.len() as u64);
                header.set_cksum();
                builder.append(&header, data.as_slice())?;
            }
        }
    }
    Ok(builder.into_inner()?)
}

/// Deterministic gzip: best compression, no file name, mtime 0, OS byte "unknown".
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    Ok(encoder.finish()?)
}

#[derive(Clone)]
pub struct Layer {
    /// The compressed blob as stored and pushed.
    pub blob: Vec<u8>,
    /// sha256 of `blob` (the manifest's layer digest).
    pub digest: String,
    /// sha256 of the uncompressed tar (the config's `rootfs.diff_ids`).
    pub diff_id: String,
    pub uncompressed_size: u64,
    /// The `io.crossplane.xpkg` annotation value, if any (`base`, `upbound`).
    pub xpkg_annotation: Option<String>,
    /// The history entry's `created_by`.
    pub created_by: String,
}

impl Layer {
    pub fn new(
        entries: Vec<Entry>,
        mtime: u64,
        created_by: &str,
        xpkg: Option<&str>,
    ) -> Result<Layer> {
        let tar = tarball(entries, mtime)?;
        let blob = gzip(&tar)?;
        Ok(Layer {
            digest: digest_of(&blob),
            diff_id: digest_of(&tar),
            uncompressed_size: tar.len() as u64,
            blob,
            xpkg_annotation: xpkg.map(str::to_string),
            created_by: created_by.to_string(),
        })
    }
}

#[derive(Serialize, Clone, Default)]
pub struct EmptyObject {}

/// The image config's `config` (the execution parameters), Docker/OCI field names.
#[derive(Serialize, Clone, Default)]
pub struct ExecConfig {
    #[serde(rename = "User", skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(rename = "ExposedPorts", skip_serializing_if = "BTreeMap::is_empty")]
    pub exposed_ports: BTreeMap<String, EmptyObject>,
    #[serde(rename = "Entrypoint", skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    #[serde(rename = "Labels")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Serialize, Clone)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize, Clone)]
struct History {
    created: String,
    created_by: String,
}

#[derive(Serialize, Clone)]
struct ConfigFile<'a> {
    created: &'a str,
    architecture: &'a str,
    os: &'a str,
    config: &'a ExecConfig,
    rootfs: RootFs,
    history: Vec<History>,
}

/// An image: its config blob and its layers, in order.
#[derive(Clone)]
pub struct Image {
    pub architecture: String,
    pub os: String,
    pub created: String,
    pub exec: ExecConfig,
    pub layers: Vec<Layer>,
}

impl Image {
    /// The config blob. Every annotated layer also gets Crossplane's config label
    /// `io.crossplane.xpkg:<layer digest>`, so the tarball form keeps the annotation.
    pub fn config_blob(&self) -> Result<Vec<u8>> {
        let mut exec = self.exec.clone();
        for layer in &self.layers {
            if let Some(value) = &layer.xpkg_annotation {
                exec.labels
                    .insert(format!("{XPKG_ANNOTATION}:{}", layer.digest), value.clone());
            }
        }
        let config = ConfigFile {
            created: &self.created,
            architecture: &self.architecture,
            os: &self.os,
            config: &exec,
            rootfs: RootFs {
                kind: "layers",
                diff_ids: self.layers.iter().map(|l| l.diff_id.clone()).collect(),
            },
            history: self
                .layers
                .iter()
                .map(|l| History {
                    created: self.created.clone(),
                    created_by: l.created_by.clone(),
                })
                .collect(),
        };
        Ok(serde_json::to_vec(&config)?)
    }

    pub fn compressed_size(&self) -> u64 {
        self.layers.iter().map(|l| l.blob.len() as u64).sum()
    }

    pub fn uncompressed_size(&self) -> u64 {
        self.layers.iter().map(|l| l.uncompressed_size).sum()
    }
}

#[derive(Serialize)]
struct TarballDescriptor<'a> {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "RepoTags")]
    repo_tags: Option<&'a [String]>,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Writes `image` as a go-containerregistry tarball (what `crossplane xpkg build` writes
/// and `crossplane xpkg push -f` reads). `repo_tags` None matches `xpkg build` (no tag).
pub fn write_tarball(
    path: &Path,
    image: &Image,
    repo_tags: Option<&[String]>,
    mtime: u64,
) -> Result<()> {
    let config = image.config_blob()?;
    let config_name = digest_of(&config);
    let mut names = Vec::new();
    // go-containerregistry's order: config, layers, manifest.json. Keep it (not sorted).
    let mut ordered: Vec<(String, Vec<u8>)> = vec![(config_name.clone(), config)];
    for layer in &image.layers {
        let name = format!("{}.tar.gz", layer.digest.trim_start_matches("sha256:"));
        if !names.contains(&name) {
            ordered.push((name.clone(), layer.blob.clone()));
        }
        names.push(name);
    }
    let manifest = serde_json::to_vec(&[TarballDescriptor {
        config: config_name,
        repo_tags,
        layers: names,
    }])?;
    ordered.push(("manifest.json".to_string(), manifest));

    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in ordered {
        let mut header = tar::Header::new_ustar();
        header.set_path(&name)?;
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data.as_slice())?;
    }
    write_atomically(path, &builder.into_inner()?)
}

#[derive(Serialize)]
struct Platform<'a> {
    architecture: &'a str,
    os: &'a str,
}

#[derive(Serialize)]
struct Descriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: String,
    size: u64,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<Platform<'a>>,
}

#[derive(Serialize)]
struct Manifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: Descriptor<'a>,
    layers: Vec<Descriptor<'a>>,
}

#[derive(Serialize)]
struct Index<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    manifests: Vec<Descriptor<'a>>,
}

/// The OCI form of `image`: its manifest bytes (layer annotations included).
pub fn oci_manifest(image: &Image) -> Result<(Vec<u8>, Vec<u8>)> {
    let config = image.config_blob()?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config: Descriptor {
            media_type: OCI_CONFIG,
            digest: digest_of(&config),
            size: config.len() as u64,
            annotations: BTreeMap::new(),
            platform: None,
        },
        layers: image
            .layers
            .iter()
            .map(|l| Descriptor {
                media_type: OCI_LAYER_GZIP,
                digest: l.digest.clone(),
                size: l.blob.len() as u64,
                annotations: l
                    .xpkg_annotation
                    .iter()
                    .map(|v| (XPKG_ANNOTATION.to_string(), v.clone()))
                    .collect(),
                platform: None,
            })
            .collect(),
    };
    Ok((serde_json::to_vec(&manifest)?, config))
}

/// Writes `image` as an OCI image layout at `dir` (replacing what is there), tagged
/// `ref_name`. Returns the manifest digest.
pub fn write_oci_layout(dir: &Path, image: &Image, ref_name: &str) -> Result<String> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let blobs = dir.join("blobs").join("sha256");
    fs::create_dir_all(&blobs)?;
    let (manifest, config) = oci_manifest(image)?;
    let write_blob = |data: &[u8]| -> Result<String> {
        let digest = digest_of(data);
        fs::write(blobs.join(digest.trim_start_matches("sha256:")), data)?;
        Ok(digest)
    };
    write_blob(&config)?;
    for layer in &image.layers {
        write_blob(&layer.blob)?;
    }
    let manifest_digest = write_blob(&manifest)?;
    let index = Index {
        schema_version: 2,
        media_type: OCI_INDEX,
        manifests: vec![Descriptor {
            media_type: OCI_MANIFEST,
            digest: manifest_digest.clone(),
            size: manifest.len() as u64,
            annotations: BTreeMap::from([(REF_NAME.to_string(), ref_name.to_string())]),
            platform: Some(Platform {
                architecture: &image.architecture,
                os: &image.os,
            }),
        }],
    };
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    Ok(manifest_digest)
}

/// Writes to a temporary sibling, then renames: a failed build never leaves half a file.
pub fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("partial");
    fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarball_is_sorted_and_deterministic() {
        let make = || {
            vec![
                Entry::file("b", 0o644, b"b".to_vec()),
                Entry::dir("a", 0o755),
                Entry::file("a/x", 0o600, b"x".to_vec()),
            ]
        };
        let one = tarball(make(), 0).unwrap();
        assert_eq!(one, tarball(make(), 0).unwrap());
        let mut archive = tar::Archive::new(one.as_slice());
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a/", "a/x", "b"]);
        assert_eq!(gzip(b"abc").unwrap(), gzip(b"abc").unwrap());
    }

    #[test]
    fn duplicate_entries_are_refused() {
        let err = tarball(
            vec![
                Entry::file("a", 0o644, vec![]),
                Entry::file("a", 0o644, vec![]),
            ],
            0,
        );
        assert!(err.is_err());
    }

    #[test]
    fn annotated_layers_become_config_labels() {
        let layer = Layer::new(
            vec![Entry::file("package.yaml", 0o644, b"---\n".to_vec())],
            0,
            "pkg",
            Some("base"),
        )
        .unwrap();
        let image = Image {
            architecture: "amd64".into(),
            os: "linux".into(),
            created: "1970-01-01T00:00:00Z".into(),
            exec: ExecConfig::default(),
            layers: vec![layer.clone()],
        };
        let config: serde_json::Value =
            serde_json::from_slice(&image.config_blob().unwrap()).unwrap();
        assert_eq!(
            config["config"]["Labels"][format!("io.crossplane.xpkg:{}", layer.digest)],
            "base"
        );
        assert_eq!(config["rootfs"]["diff_ids"][0], layer.diff_id.as_str());
        let (manifest, _) = oci_manifest(&image).unwrap();
        let manifest: serde_json::Value = serde_json::from_slice(&manifest).unwrap();
        assert_eq!(
            manifest["layers"][0]["annotations"]["io.crossplane.xpkg"],
            "base"
        );
    }
}
