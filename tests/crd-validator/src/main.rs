//! `crd-validator [--crds DIR] [--xrd FILE]... FILE...`
//!
//! Validates the objects of YAML streams (files, or `-` for stdin) against the CRDs in DIR
//! (default: `$IMAGECDN_CRDS_DIR` or `<workspace>/../shared/crds`) and the given XRDs.
//! Prints `OK N objects`, or each problem as `<file>#<doc> <kind>/<name>: <path>: <message>`
//! and exits 1.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use crd_validator::{Validator, default_crds_dir, parse_yaml_stream};

const USAGE: &str =
    "usage: crd-validator [--crds DIR] [--xrd FILE]... FILE...  (FILE may be - for stdin)";

fn run() -> anyhow::Result<bool> {
    let mut crds: Option<PathBuf> = None;
    let mut xrds: Vec<PathBuf> = Vec::new();
    let mut files: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(true);
            }
            "--crds" => crds = Some(args.next().context("--crds needs a folder")?.into()),
            "--xrd" => xrds.push(args.next().context("--xrd needs a file")?.into()),
            a if a.starts_with("--crds=") => crds = Some(a["--crds=".len()..].into()),
            a if a.starts_with("--xrd=") => xrds.push(a["--xrd=".len()..].into()),
            a if a.starts_with("--") => bail!("unknown option {a}\n{USAGE}"),
            _ => files.push(arg),
        }
    }
    if files.is_empty() {
        bail!("no input files\n{USAGE}");
    }
    let crds = crds.unwrap_or_else(default_crds_dir);
    let mut validator = Validator::from_dir(&crds)?;
    for xrd in &xrds {
        let text =
            std::fs::read_to_string(xrd).with_context(|| format!("reading {}", xrd.display()))?;
        // An XRD file may hold several documents; register each XRD.
        for (i, doc) in parse_yaml_stream(&text)
            .with_context(|| format!("parsing {}", xrd.display()))?
            .iter()
            .enumerate()
        {
            if doc.is_null() {
                continue;
            }
            let yaml = serde_yaml_ng::to_string(doc)?;
            validator
                .add_xrd(&yaml)
                .with_context(|| format!("registering {}#{i}", xrd.display()))?;
        }
    }

    let mut objects = 0usize;
    let mut problems = 0usize;
    for file in &files {
        let text = if file == "-" {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading stdin")?;
            s
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?
        };
        let docs = parse_yaml_stream(&text).with_context(|| format!("parsing {file}"))?;
        for (i, doc) in docs.iter().enumerate() {
            if doc.is_null() {
                continue;
            }
            objects += match doc.get("items").and_then(|i| i.as_array()) {
                Some(items) if doc.get("kind").and_then(|k| k.as_str()) == Some("List") => {
                    items.len()
                }
                _ => 1,
            };
            for (name, problem) in validator.validate_document(doc) {
                problems += 1;
                println!("{file}#{i} {name}: {problem}");
            }
        }
    }
    if problems == 0 {
        println!("OK {objects} objects");
        Ok(true)
    } else {
        eprintln!("{problems} problems in {objects} objects");
        Ok(false)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("crd-validator: {e:#}");
            ExitCode::from(2)
        }
    }
}
