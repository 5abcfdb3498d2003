//! The CLI: exit codes, the summary line, and HTTP statuses in its errors.
#![cfg(feature = "cli")]

mod common;

use std::process::Command;

fn cli(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_imagecdn-transform"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("imagecdn-transform-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

fn corpus_path(prefix: &str) -> String {
    let dir = common::corpus_dir();
    let name = common::corpus(prefix).0;
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn success_prints_a_summary() {
    let out = tmp("07.webp");
    let (code, err) = cli(&[&corpus_path("07_"), "fm=webp&q=75&w=200", &out]);
    assert_eq!(code, 0, "{err}");
    let line = err.trim();
    assert!(line.starts_with("200x234 webp "), "{line}");
    assert!(
        line.ends_with(" ms") && line.contains(" bytes in "),
        "{line}"
    );
    let back = common::read_back(&std::fs::read(&out).unwrap());
    assert_eq!((back.width, back.height), (200, 234));
}

#[test]
fn non_canonical_query_is_400() {
    for q in [
        "w=0",
        "w=300&h=200",
        "width=300",
        "fit=cover&h=1&w=1",
        "fm=jpg",
    ] {
        let (code, err) = cli(&[&corpus_path("07_"), q, &tmp("x.jpg")]);
        assert_eq!(code, 2, "{q}: {err}");
        assert!(err.contains("HTTP 400"), "{q}: {err}");
    }
}

#[test]
fn errors_carry_their_status() {
    let (code, err) = cli(&[&corpus_path("12_"), "w=100", &tmp("bomb.png")]);
    assert_eq!(code, 2);
    assert!(err.contains("HTTP 413"), "{err}");
    let (code, err) = cli(&[&corpus_path("11_"), "w=100", &tmp("t.jpg")]);
    assert_eq!(code, 2);
    assert!(err.contains("HTTP 422"), "{err}");
    let (code, err) = cli(&[&corpus_path("README"), "w=100", &tmp("r.jpg")]);
    assert_eq!(code, 2);
    assert!(err.contains("HTTP 415"), "{err}");
    let (code, err) = cli(&[
        &corpus_path("07_"),
        "w=100",
        &tmp("s.jpg"),
        "--max-megapixels",
        "0.1",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("HTTP 413"), "{err}");
    let (code, err) = cli(&[
        &corpus_path("07_"),
        "w=100",
        &tmp("s.jpg"),
        "--max-bytes",
        "100",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("HTTP 413"), "{err}");
    let (code, _) = cli(&["/nonexistent/file.jpg", "w=100", &tmp("n.jpg")]);
    assert_eq!(code, 1);
}
