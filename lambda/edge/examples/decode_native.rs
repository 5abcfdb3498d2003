//! The native half of `tests/edge/decode_equality.test.js`: decodes a source with the
//! native build of the same function the wasm module exports as `edge_decode`
//! ([`imagecdn_edge_wasm::decode_reply`]), so the test can compare the two pixel for pixel.
//!
//! `decode_native INPUT MIN_W MIN_H OUTPUT` writes the pixels to OUTPUT and prints the
//! reply's status and metadata as one JSON line (`{"status", "meta"}`); 0 x 0 decodes at
//! full size. A decoder error is a reply too (status 4xx, no OUTPUT written).

use imagecdn_edge_wasm::decode_reply;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, min_w, min_h, output] = args.as_slice() else {
        return Err("usage: decode_native INPUT MIN_W MIN_H OUTPUT".into());
    };
    let reply = decode_reply(&std::fs::read(input)?, min_w.parse()?, min_h.parse()?);
    if reply.status() == 200 {
        std::fs::write(output, reply.body())?;
    }
    let meta: serde_json::Value = serde_json::from_slice(reply.meta())?;
    println!(
        "{}",
        serde_json::json!({ "status": reply.status(), "meta": meta })
    );
    Ok(())
}
