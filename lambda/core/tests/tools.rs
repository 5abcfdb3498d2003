//! Inputs made by other people's tools, not by our own encoders: an Adobe YCCK JPEG
//! written by ImageMagick (what print workflows and stock photo sites serve), and
//! progressive JPEGs scripted with libjpeg-turbo's `jpegtran`, one within the scan limit
//! and a hostile one far beyond it. `tests/run.sh` installs both tools (Debian's
//! `imagemagick` and `libjpeg-turbo-progs`); a missing tool is a failure, not a skip.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{corpus, read_back};
use imagecdn_transform::decode::{MAX_JPEG_SCANS, count_jpeg_scans};
use imagecdn_transform::{Canonical, Limits, TransformError, transform};

/// A path of its own for every call: the tests run in parallel threads of one process, and
/// two of them make the same file (`progressive_with_scans(33)`); one reading it while the
/// other's jpegtran rewrites it failed once.
fn scratch(name: &str) -> PathBuf {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("imagecdn-tools-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", CALLS.fetch_add(1, Ordering::Relaxed)))
}

fn tool(name: &str) -> Command {
    // Debian's binary, not a shell wrapper of the same name earlier on PATH.
    let debian = Path::new("/usr/bin").join(name);
    Command::new(if debian.exists() {
        debian
    } else {
        PathBuf::from(name)
    })
}

fn run_tool(mut cmd: Command) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{cmd:?}: {e} (tests/run.sh installs imagemagick and libjpeg-turbo-progs)")
    });
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The Adobe APP14 marker's colour transform (0 CMYK, 2 YCCK), if there is one.
fn adobe_transform(jpeg: &[u8]) -> Option<u8> {
    let at = jpeg
        .windows(7)
        .position(|w| w[0] == 0xFF && w[1] == 0xEE && &w[4..7] == b"Ado")?;
    jpeg.get(at + 15).copied()
}

#[test]
fn imagemagick_cmyk_jpeg_decodes_to_the_right_colours() {
    let path = scratch("red-cmyk.jpg");
    let mut cmd = tool("convert");
    cmd.args([
        "-size",
        "64x48",
        "xc:#d21e1e",
        "-colorspace",
        "CMYK",
        "-quality",
        "95",
    ])
    .arg(&path);
    run_tool(cmd);
    let jpeg = std::fs::read(&path).unwrap();
    let transform_flag =
        adobe_transform(&jpeg).expect("ImageMagick writes an Adobe marker for CMYK");
    assert_eq!(
        jpeg[jpeg.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap() + 9],
        4,
        "4 components"
    );
    for q in ["fm=png&w=32", "fm=jpeg&w=32", "fm=webp&w=32"] {
        let out = transform(&jpeg, &Canonical::parse(q).unwrap(), &Limits::default())
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert_eq!((out.width, out.height), (32, 24), "{q}");
        let rgba = read_back(&out.bytes).rgba.unwrap();
        let c = rgba.get_pixel(16, 12).0;
        let want: [u8; 3] = [0xd2, 0x1e, 0x1e];
        let off = (0..3)
            .map(|i| (i32::from(c[i]) - i32::from(want[i])).abs())
            .max()
            .unwrap();
        // CMYK through ImageMagick's default profile-less conversion, then JPEG: a few
        // per cent; inverted or unconverted channels would be off by > 100.
        assert!(
            off <= 40,
            "{q} (Adobe transform {transform_flag}): centre {c:?}, want about {want:?}"
        );
    }
}

/// A scan script for `jpegtran -scans`: all DC coefficients, then each component's AC
/// coefficients in `bands` bands; `1 + 3 * bands` scans in all.
fn scan_script(bands: usize) -> String {
    let mut lines = vec!["0,1,2: 0 0 0 0;".to_string()];
    for c in 0..3 {
        let mut start = 1;
        for b in 0..bands {
            let end = if b == bands - 1 { 63 } else { start };
            lines.push(format!("{c}: {start} {end} 0 0;"));
            start = end + 1;
        }
    }
    lines.join("\n") + "\n"
}

fn progressive_with_scans(bands: usize) -> Vec<u8> {
    let (name, _) = corpus("07_");
    let script = scratch(&format!("scans-{bands}.txt"));
    std::fs::write(&script, scan_script(bands)).unwrap();
    let out = scratch(&format!("progressive-{bands}.jpg"));
    let mut cmd = tool("jpegtran");
    cmd.arg("-scans")
        .arg(&script)
        .arg("-outfile")
        .arg(&out)
        .arg(common::corpus_dir().join(name));
    run_tool(cmd);
    std::fs::read(out).unwrap()
}

/// The scans of a JPEG repeated `times` before EOI: what a hostile file does to make a
/// few hundred kilobytes cost a full pass over the image thousands of times.
fn repeat_scans(jpeg: &[u8], times: usize) -> Vec<u8> {
    let first_scan = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let eoi = jpeg.len() - 2;
    assert_eq!(&jpeg[eoi..], [0xFF, 0xD9]);
    let mut out = jpeg[..first_scan].to_vec();
    for _ in 0..times {
        out.extend_from_slice(&jpeg[first_scan..eoi]);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

#[test]
fn progressive_jpegs_within_the_scan_limit_decode() {
    // jpegtran's own limit for a scan script is 100 scans: the most a real tool writes.
    let jpeg = progressive_with_scans(33);
    assert_eq!(count_jpeg_scans(&jpeg, 1000), MAX_JPEG_SCANS);
    let out = transform(
        &jpeg,
        &Canonical::parse("w=100").unwrap(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(out.width, 100);
    let (_, baseline) = corpus("02_");
    assert_eq!(count_jpeg_scans(&baseline, 1000), 1);
    let (_, progressive) = corpus("03_");
    assert!((2..=20).contains(&count_jpeg_scans(&progressive, 1000)));
}

#[test]
fn a_jpeg_with_thousands_of_scans_is_refused_before_decoding() {
    let hostile = repeat_scans(&progressive_with_scans(33), 30);
    assert!(count_jpeg_scans(&hostile, usize::MAX) >= 3000);
    let started = std::time::Instant::now();
    let err = transform(
        &hostile,
        &Canonical::parse("w=100").unwrap(),
        &Limits::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            TransformError::TooManyScans {
                limit: MAX_JPEG_SCANS
            }
        ),
        "{err}"
    );
    assert_eq!(err.http_status(), 422);
    assert!(
        started.elapsed().as_millis() < 1000,
        "refused from the marker walk alone"
    );
    // Truncated anywhere, the walk still ends (and never panics).
    for cut in (0..hostile.len()).step_by(hostile.len() / 97 + 1) {
        let _ = count_jpeg_scans(&hostile[..cut], MAX_JPEG_SCANS);
    }
}
