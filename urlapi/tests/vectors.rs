//! The shared vectors in `tests/vectors/` run through the Rust normalizer and through
//! the generated CloudFront Function in Node.js (real viewer-request event shape, a
//! bare `vm` context); both must produce exactly the expected output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use imagecdn_urlapi::{Outcome, Settings, cloudfront, normalize_raw};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct VectorFile {
    settings: BTreeMap<String, Settings>,
    cases: Vec<Case>,
}

#[derive(Clone, Deserialize, serde::Serialize)]
struct Case {
    name: String,
    settings: String,
    request: Request,
    expect: Expect,
}

#[derive(Clone, Deserialize, serde::Serialize)]
struct Request {
    uri: String,
    #[serde(default)]
    query: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    query: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// The `Location` of a redirect (status 301) to the canonical spelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<String>,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every case with its settings, from every vector file.
fn load() -> Vec<(Case, Settings)> {
    let dir = repo_root().join("tests/vectors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let file: VectorFile =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for case in file.cases {
            let settings = file.settings.get(&case.settings).unwrap_or_else(|| {
                panic!(
                    "{}: case {:?} names unknown settings {:?}",
                    f.display(),
                    case.name,
                    case.settings
                )
            });
            out.push((case.clone(), settings.clone()));
        }
    }
    out
}

fn rust_result(case: &Case, settings: &Settings) -> Expect {
    let accept = case.request.headers.get("accept").map(String::as_str);
    match normalize_raw(settings, &case.request.uri, &case.request.query, accept) {
        outcome @ Outcome::Forward { .. } => {
            let Outcome::Forward { ref uri, .. } = outcome else {
                unreachable!()
            };
            Expect {
                uri: Some(uri.clone()),
                query: outcome.query_string(),
                status: None,
                location: None,
            }
        }
        Outcome::Refuse { status, .. } => Expect {
            uri: None,
            query: None,
            status: Some(status),
            location: None,
        },
        Outcome::Redirect { location } => Expect {
            uri: None,
            query: None,
            status: Some(imagecdn_urlapi::normalize::REDIRECT_STATUS),
            location: Some(location),
        },
    }
}

#[test]
fn vectors_are_plentiful_and_named_uniquely() {
    let cases = load();
    assert!(cases.len() >= 300, "only {} vectors", cases.len());
    let mut names = std::collections::BTreeSet::new();
    for (c, _) in &cases {
        assert!(
            names.insert(c.name.clone()),
            "duplicate vector name {:?}",
            c.name
        );
    }
}

#[test]
fn rust_normalizer_matches_every_vector() {
    let mut failures = Vec::new();
    let cases = load();
    for (case, settings) in &cases {
        let got = rust_result(case, settings);
        if got != case.expect {
            failures.push(format!(
                "{}: {} ?{} (accept {:?})\n  expected {:?}\n  got      {:?}",
                case.name,
                case.request.uri,
                case.request.query,
                case.request.headers.get("accept"),
                case.expect,
                got
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} vectors fail in Rust:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn generated_cloudfront_function_matches_every_vector_in_node() {
    let cases = load();
    let bundle: Vec<serde_json::Value> = cases
        .iter()
        .map(|(case, settings)| {
            json!({
                "name": case.name,
                "code": cloudfront::function_code(settings),
                "request": case.request,
                "expect": case.expect,
            })
        })
        .collect();
    let path = std::env::temp_dir().join(format!("imagecdn-vectors-{}.json", std::process::id()));
    std::fs::write(&path, json!({"cases": bundle}).to_string()).unwrap();
    let runner = repo_root().join("tests/node/run_vectors.js");
    let out = Command::new("node")
        .arg(&runner)
        .arg(&path)
        .output()
        .expect("node must be installed (tests/run.sh installs it)");
    std::fs::remove_file(&path).ok();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the generated function disagrees with the vectors in Node:\n{stdout}\n{stderr}"
    );
    let expected_summary = format!("{} passed, 0 failed", cases.len());
    assert!(stdout.contains(&expected_summary), "{stdout}");
}

/// The README's parameter table is printed from the definition (`UPDATE_GOLDEN=1`
/// rewrites it).
#[test]
fn readme_parameter_reference_is_generated() {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let (start, end) = ("<!-- urlapi:start -->\n", "<!-- urlapi:end -->");
    let (head, rest) = readme
        .split_once(start)
        .expect("README has the urlapi start marker");
    let (_, tail) = rest
        .split_once(end)
        .expect("README has the urlapi end marker");
    let want = format!(
        "{head}{start}{}{end}{tail}",
        imagecdn_urlapi::definition::reference_markdown()
    );
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &want).unwrap();
    } else {
        assert!(
            readme == want,
            "README's URL API table is stale: rerun with UPDATE_GOLDEN=1"
        );
    }
}
