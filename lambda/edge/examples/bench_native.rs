//! Times the native core in-process for `bench/transform.sh`, so it is compared with
//! sharp (also in-process) and with this same core as wasm without process start-up or
//! file I/O in the numbers.
//!
//! `bench_native ITERATIONS FILE QUERY [FILE QUERY]...` prints one JSON line per
//! operation: `{"file", "query", "median_ms", "width", "height", "bytes",
//! "peak_rss_mb"}` (the process's peak resident memory so far, from Linux's
//! `/proc/self/status`: run one operation per process for a per-operation figure). Each
//! operation runs 2 warm-up iterations first.

use std::time::Instant;

use imagecdn_transform::{Limits, parse_request, transform};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let iterations: usize = args
        .first()
        .ok_or("usage: ITERATIONS (FILE QUERY)...")?
        .parse()?;
    for pair in args[1..].chunks(2) {
        let [file, query] = pair else {
            return Err("FILE without QUERY".into());
        };
        let input = std::fs::read(file)?;
        let request = parse_request(query)?;
        let limits = Limits::default();
        let mut times = Vec::with_capacity(iterations);
        let mut last = None;
        for i in 0..iterations + 2 {
            let t0 = Instant::now();
            let out = transform(&input, &request, &limits)?;
            if i >= 2 {
                times.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            last = Some(out);
        }
        times.sort_by(f64::total_cmp);
        let out = last.ok_or("no iterations")?;
        println!(
            "{}",
            serde_json::json!({
                "file": file, "query": query, "median_ms": times[times.len() / 2],
                "width": out.width, "height": out.height, "bytes": out.bytes.len(),
                "peak_rss_mb": peak_rss_mb(),
            })
        );
    }
    Ok(())
}

/// `VmHWM` (peak resident set) in MiB; `None` where `/proc` does not say.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
