//! Cache-key report and per-request timing of the Rust normalizer (run by
//! `bench/urlapi.sh`, which also times the generated CloudFront Function in Node on
//! the same requests and checks that both give identical results).
//!
//! It replays a synthetic request log: thousands of requests over a few hundred
//! originals, as real clients send them (aliases, mixed case, reordering, `dpr`,
//! presets, `fm=auto` from different browsers, utm/fbclid/gclid/session noise, cache
//! busters), and prints distinct raw URLs, distinct canonical keys and distinct
//! semantic variants (a canonical key with every default made explicit: the fit
//! applied when both sizes are set, the source format, the default quality). Equal
//! counts mean no two keys render the same image.
//!
//! Usage: `keyreport [REQUESTS] [--bundle PATH]` (the bundle feeds the Node run).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use imagecdn_urlapi::{Canonical, Format, Outcome, Preset, Settings, cloudfront, normalize_raw};
use serde_json::json;

/// A small deterministic PRNG (xorshift64*): the log is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn settings() -> Settings {
    Settings {
        max_width: 3840,
        max_height: 3840,
        width_ladder: vec![160, 200, 320, 480, 640, 960, 1280, 1920, 2560, 3840],
        min_quality: 40,
        max_quality: 90,
        default_quality: 75,
        formats: Format::ALL.to_vec(),
        presets: vec![
            Preset {
                name: "thumb".into(),
                width: Some(200),
                height: Some(200),
                fit: Some(imagecdn_urlapi::Fit::Cover),
                format: Some(Format::Webp),
                quality: Some(70),
            },
            Preset {
                name: "card".into(),
                width: Some(640),
                height: Some(360),
                fit: Some(imagecdn_urlapi::Fit::Contain),
                ..Preset::default()
            },
        ],
        prefixes: vec!["shop".into(), "partners/media".into()],
    }
}

const ACCEPTS: &[&str] = &[
    "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5",
    "*/*",
];

/// Randomizes the case of ASCII letters.
fn recase(rng: &mut Rng, s: &str) -> String {
    s.chars()
        .map(|c| {
            if rng.chance(30) {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// One request as a client might send it: (uri, raw query, accept).
fn request(rng: &mut Rng, originals: usize) -> (String, String, String) {
    // A few originals are hot, most are cold (roughly Zipf).
    let original = (rng.below(originals) * rng.below(originals)) / originals;
    let prefix = if original % 5 == 0 {
        "partners/media"
    } else {
        "shop"
    };
    let mut uri = format!("/{prefix}/products/{original}.jpg");
    if rng.chance(5) {
        uri = uri.replacen('/', "//", 2);
    }
    let mut params: Vec<(String, String)> = Vec::new();
    let widths = [
        100, 150, 200, 300, 320, 400, 480, 500, 640, 800, 1024, 1200, 1920,
    ];
    if rng.chance(15) {
        params.push((
            rng.pick(&["p", "preset"]).to_string(),
            rng.pick(&["thumb", "card", "THUMB"]).to_string(),
        ));
    } else {
        let w = *rng.pick(&widths);
        if rng.chance(25) {
            params.push((
                "dpr".into(),
                rng.pick(&["2", "1.5", "3", "2.0"]).to_string(),
            ));
        }
        params.push((rng.pick(&["w", "width", "W"]).to_string(), w.to_string()));
        if rng.chance(20) {
            params.push((
                rng.pick(&["h", "height"]).to_string(),
                (w * 9 / 16).to_string(),
            ));
            if rng.chance(50) {
                params.push((
                    "fit".into(),
                    rng.pick(&["cover", "contain", "Cover", "inside"])
                        .to_string(),
                ));
            }
        }
    }
    if rng.chance(60) {
        params.push((
            rng.pick(&["fm", "format"]).to_string(),
            rng.pick(&["auto", "auto", "webp", "jpg", "avif", "AUTO"])
                .to_string(),
        ));
    }
    if rng.chance(20) {
        params.push((
            rng.pick(&["q", "quality"]).to_string(),
            rng.pick(&["75", "80", "60", "100", "10"]).to_string(),
        ));
    }
    let junk = [
        ("utm_source", "newsletter"),
        ("utm_medium", "email"),
        ("utm_campaign", "spring"),
        ("fbclid", "IwAR2x"),
        ("gclid", "Cj0KCQ"),
        ("sessionid", "s"),
        ("_", "t"),
    ];
    for (name, value) in junk {
        if rng.chance(12) {
            params.push((name.into(), format!("{value}{}", rng.below(100_000))));
        }
    }
    // Clients order parameters however they like.
    for i in (1..params.len()).rev() {
        params.swap(i, rng.below(i + 1));
    }
    let query = params
        .iter()
        .map(|(k, v)| format!("{}={}", recase(rng, k), v))
        .collect::<Vec<_>>()
        .join("&");
    (uri, query, rng.pick(ACCEPTS).to_string())
}

/// A canonical key with every default made explicit.
fn semantic(uri: &str, c: &Canonical, s: &Settings) -> String {
    let fit = match (c.w, c.h) {
        (Some(_), Some(_)) => c.effective_fit().as_str().to_string(),
        _ => "-".into(),
    };
    let fm =
        c.fm.map_or("source".to_string(), |f| f.as_str().to_string());
    let q = if c.fm == Some(Format::Png) {
        "-".to_string()
    } else {
        c.q.unwrap_or(s.default_quality).to_string()
    };
    format!("{uri} w={:?} h={:?} fit={fit} fm={fm} q={q}", c.w, c.h)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut count = 20_000usize;
    let mut bundle: Option<String> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bundle" => bundle = args.next(),
            n => count = n.parse().expect("REQUESTS must be a number"),
        }
    }
    let s = settings();
    let originals = 300;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let log: Vec<(String, String, String)> =
        (0..count).map(|_| request(&mut rng, originals)).collect();

    let mut raw = BTreeSet::new();
    let mut keys = BTreeSet::new();
    let mut semantics = BTreeSet::new();
    let mut keys_per_original: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut results = Vec::with_capacity(log.len());
    for (uri, query, accept) in &log {
        raw.insert(format!("{uri}?{query}"));
        let outcome = normalize_raw(&s, uri, query, Some(accept));
        let Outcome::Forward {
            uri: ref key_uri,
            ref canonical,
            ..
        } = outcome
        else {
            panic!("synthetic request refused: {uri}?{query}");
        };
        let key = format!("{key_uri}?{canonical}");
        keys_per_original
            .entry(key_uri.clone())
            .or_default()
            .insert(key.clone());
        keys.insert(key);
        semantics.insert(semantic(key_uri, canonical, &s));
        results.push(json!({"uri": key_uri, "query": outcome.query_string()}));
    }

    // Timing: the whole log per run, median of five runs.
    let mut per_request = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        for (uri, query, accept) in &log {
            std::hint::black_box(normalize_raw(&s, uri, query, Some(accept)));
        }
        per_request.push(start.elapsed().as_nanos() as f64 / log.len() as f64);
    }
    per_request.sort_by(f64::total_cmp);

    println!("requests:                {}", log.len());
    println!("originals:               {originals}");
    println!("distinct raw URLs:       {}", raw.len());
    println!("distinct canonical keys: {}", keys.len());
    println!("distinct semantic variants: {}", semantics.len());
    println!(
        "max canonical keys for one original: {}",
        keys_per_original
            .values()
            .map(BTreeSet::len)
            .max()
            .unwrap_or(0)
    );
    println!(
        "rust per-request: {:.0} ns (median of 5 runs)",
        per_request[2]
    );

    if let Some(path) = bundle {
        let code = cloudfront::function_code(&s);
        let cases: Vec<serde_json::Value> = log
            .iter()
            .zip(results)
            .enumerate()
            .map(|(i, ((uri, query, accept), expect))| {
                json!({
                    "name": format!("log-{i}"),
                    "code": code,
                    "request": {"uri": uri, "query": query, "headers": {"accept": accept}},
                    "expect": expect,
                })
            })
            .collect();
        std::fs::write(&path, json!({"cases": cases}).to_string()).expect("write the bundle");
    }
    if keys.len() != semantics.len() {
        eprintln!(
            "FAIL: canonical keys ({}) != semantic variants ({})",
            keys.len(),
            semantics.len()
        );
        std::process::exit(1);
    }
}
