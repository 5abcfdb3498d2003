//! The decompression bomb, alone in its own test binary so that the process's peak RSS
//! measures only it: refused with 413 from the header, without allocating its pixels.

mod common;

use imagecdn_transform::{Canonical, Limits, TransformError, probe, transform};

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn bomb_is_refused_without_allocating() {
    let (_, bytes) = common::corpus("12_");
    let info = probe(&bytes).unwrap();
    assert_eq!((info.width, info.height), (20000, 20000));
    let started = std::time::Instant::now();
    let err = transform(
        &bytes,
        &Canonical::parse("w=100").unwrap(),
        &Limits::default(),
    )
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(
        matches!(
            err,
            TransformError::TooManyPixels {
                pixels: 400_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.http_status(), 413);
    assert!(elapsed.as_millis() < 200, "took {elapsed:?}");
    if let Some(kib) = peak_rss_kib() {
        // 400 MP would be >= 1.2 GB; the test binary itself needs a few MB.
        assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
    }
}
