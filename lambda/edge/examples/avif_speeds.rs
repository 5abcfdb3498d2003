//! The native half of `bench/avif_speed.sh`: encodes the same pixels as AVIF at each rav1e
//! speed, so the script can weigh time against size and a perceptual metric.
//!
//! `avif_speeds OUTDIR QUALITY WIDTH ITERATIONS FILE...`: for each source, the pixels the
//! transform would encode for `fm=avif&w=WIDTH` (decoded back from its lossless PNG
//! output: the same decode, orientation, resize and colour conversion) are written to
//! `OUTDIR/<n>.png` (the metric's reference), then encoded at rav1e speeds 4 to 10 (10 fastest; below 4 a
//! 1200 px image takes tens of seconds, never an option at the edge) into
//! `OUTDIR/<n>-s<speed>.avif`; one JSON line each: `{"source", "reference", "speed",
//! "avif", "median_ms", "bytes"}`.

use std::time::Instant;

use imagecdn_transform::{Limits, decode_source, encode, parse_request, transform};

const SPEEDS: std::ops::RangeInclusive<u8> = 4..=10;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [outdir, quality, width, iterations, files @ ..] = args.as_slice() else {
        return Err("usage: avif_speeds OUTDIR QUALITY WIDTH ITERATIONS FILE...".into());
    };
    let (quality, iterations): (u32, usize) = (quality.parse()?, iterations.parse()?);
    let limits = Limits::default();
    for (n, file) in files.iter().enumerate() {
        let lossless = transform(
            &std::fs::read(file)?,
            &parse_request(&format!("fm=png&w={width}"))?,
            &limits,
        )?;
        let reference = format!("{outdir}/{n}.png");
        std::fs::write(&reference, &lossless.bytes)?;
        for speed in SPEEDS {
            let mut times = Vec::with_capacity(iterations);
            let mut bytes = Vec::new();
            for _ in 0..iterations.max(1) {
                let pixels = decode_source(&lossless.bytes, None, &limits)?.pixels;
                let t0 = Instant::now();
                bytes = encode::avif(pixels, quality, speed)?;
                times.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let avif = format!("{outdir}/{n}-s{speed}.avif");
            std::fs::write(&avif, &bytes)?;
            println!(
                "{}",
                serde_json::json!({
                    "source": file, "reference": reference, "speed": speed, "avif": avif,
                    "median_ms": times[times.len() / 2], "bytes": bytes.len(),
                })
            );
        }
    }
    Ok(())
}
