//! `imagecdn-transform INPUT 'CANONICAL_QUERY' OUTPUT`: the transform core on files, for
//! benchmarks and for trying the engine. The query is what the edge forwards (already
//! canonical, e.g. `fm=webp&q=75&w=400`); a non-canonical one is refused with 400, as the
//! origin would.
//!
//! Exit 0 with a one-line summary on stderr (`400x225 webp 12345 bytes in 23 ms`);
//! otherwise exit 2 for a request/input error (4xx) and 1 for anything else, with the reason
//! and the HTTP status on stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use imagecdn_transform::{Encoding, Limits, TransformError, parse_request, transform_with};

#[derive(Parser, Debug)]
#[command(
    name = "imagecdn-transform",
    version,
    about = "Transform one image as a canonical ImageCDN query asks"
)]
struct Args {
    /// Source image (JPEG, PNG, WebP or GIF; the format is read from the bytes).
    input: PathBuf,
    /// Canonical query, e.g. `fit=contain&fm=webp&h=200&q=70&w=400` (empty: the original).
    query: String,
    /// Where to write the encoded result.
    output: PathBuf,
    /// Largest source in megapixels (decimal allowed).
    #[arg(long, default_value_t = 100.0)]
    max_megapixels: f64,
    /// Largest source file in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    max_bytes: usize,
    /// Largest output width.
    #[arg(long, default_value_t = 4096)]
    max_width: u32,
    /// Largest output height.
    #[arg(long, default_value_t = 4096)]
    max_height: u32,
    /// Quality when the query has no `q` (1..=100).
    #[arg(long, default_value_t = 80, value_parser = clap::value_parser!(u32).range(1..=100))]
    quality: u32,
    /// rav1e speed for AVIF output, 1 (slowest, smallest) to 10; the renderer's default,
    /// the edge encodes at 9.
    #[arg(long, default_value_t = imagecdn_transform::encode::AVIF_SPEED, value_parser = clap::value_parser!(u8).range(1..=10))]
    avif_speed: u8,
}

fn fail(e: &TransformError) -> ExitCode {
    eprintln!("imagecdn-transform: {e} (HTTP {})", e.http_status());
    if (400..500).contains(&e.http_status()) {
        ExitCode::from(2)
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let request = match parse_request(&args.query) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    if !args.max_megapixels.is_finite() || args.max_megapixels < 0.0 {
        eprintln!("imagecdn-transform: --max-megapixels must be a non-negative number");
        return ExitCode::from(1);
    }
    let limits = Limits {
        max_source_pixels: (args.max_megapixels * 1e6) as u64,
        max_source_bytes: args.max_bytes,
        max_width: args.max_width,
        max_height: args.max_height,
        default_quality: args.quality,
    };
    // Refuse oversized files before reading them into memory.
    match std::fs::metadata(&args.input) {
        Ok(m) if m.len() > limits.max_source_bytes as u64 => {
            return fail(&TransformError::SourceTooLarge {
                size: usize::try_from(m.len()).unwrap_or(usize::MAX),
                limit: limits.max_source_bytes,
            });
        }
        Ok(_) => {}
        Err(e) => {
            eprintln!(
                "imagecdn-transform: cannot read {}: {e}",
                args.input.display()
            );
            return ExitCode::from(1);
        }
    }
    let input = match std::fs::read(&args.input) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "imagecdn-transform: cannot read {}: {e}",
                args.input.display()
            );
            return ExitCode::from(1);
        }
    };
    let started = Instant::now();
    let encoding = Encoding {
        avif_speed: args.avif_speed,
    };
    let out = match transform_with(&input, &request, &limits, &encoding) {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let elapsed = started.elapsed();
    if let Err(e) = std::fs::write(&args.output, &out.bytes) {
        eprintln!(
            "imagecdn-transform: cannot write {}: {e}",
            args.output.display()
        );
        return ExitCode::from(1);
    }
    eprintln!(
        "{}x{} {} {} bytes in {} ms",
        out.width,
        out.height,
        out.format.as_str(),
        out.bytes.len(),
        elapsed.as_millis()
    );
    ExitCode::SUCCESS
}
