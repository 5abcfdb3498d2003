//! Percent-encoding with exactly JavaScript's semantics, so the Rust normalizer and the
//! generated CloudFront Function agree byte for byte.

/// `decodeURIComponent`: every `%` must start two hex digits and the bytes must be
/// valid UTF-8, else `None` (JavaScript throws `URIError`).
pub fn decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `encodeURIComponent`: keeps `A-Z a-z 0-9 - _ . ! ~ * ' ( )`, encodes every other
/// UTF-8 byte as upper-case `%XX`.
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Trims ASCII whitespace (space, tab, LF, VT, FF, CR) as the generated code does.
pub fn trim_ascii_ws(s: &str) -> &str {
    s.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\x0b' | '\x0c' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_strict() {
        assert_eq!(decode("caf%C3%A9").as_deref(), Some("café"));
        assert_eq!(decode("%2e%2E").as_deref(), Some(".."));
        for bad in ["%", "%z1", "%E0%A4%A", "%C0%AF", "%ED%A0%80", "a%"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn encode_matches_encode_uri_component() {
        assert_eq!(encode_component("a b(1)*'!~.jpg"), "a%20b(1)*'!~.jpg");
        assert_eq!(encode_component("café/?#&="), "caf%C3%A9%2F%3F%23%26%3D");
    }
}
