//! The one short-digest helper every stable name of ours is made with (variant keys of
//! long originals, render requests, caller references, queue entries).

use sha2::{Digest, Sha256};

/// The first `bytes` bytes of the SHA-256 of `parts`, each followed by a 0 byte (so
/// `["ab", "c"]` and `["a", "bc"]` differ), as lowercase hex.
pub fn sha256_hex(parts: &[&[u8]], bytes: usize) -> String {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(bytes)
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_separated_and_length_is_bounded() {
        assert_ne!(
            sha256_hex(&[b"ab", b"c"], 16),
            sha256_hex(&[b"a", b"bc"], 16)
        );
        assert_eq!(sha256_hex(&[b"x"], 32).len(), 64);
        assert_eq!(sha256_hex(&[b"x"], 4).len(), 8);
    }
}
