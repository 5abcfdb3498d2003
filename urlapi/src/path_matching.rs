//! How CloudFront and AWS WAF read a request path, emulated from their documentation:
//! the path CloudFront matches cache behavior patterns against, its pattern syntax, and
//! WAF's text transformations. Shared by the behavior-selection test (function) and the
//! local CDN (imagecdn-dev), so both emulate one reading.

/// The byte a `%XX` escape at `i` stands for, if there is a well-formed one.
pub fn hex_escape(b: &[u8], i: usize) -> Option<u8> {
    let (h, l) = (*b.get(i + 1)?, *b.get(i + 2)?);
    (b[i] == b'%' && h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
        .then(|| u8::from_str_radix(std::str::from_utf8(&[h, l]).ok()?, 16).ok())
        .flatten()
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~".contains(&b)
}

/// The path CloudFront matches patterns against: unreserved escapes decoded, other
/// escapes' hex upper-cased, dot segments removed, repeated slashes merged when
/// `merge_slashes` (its guide says so; the behavior-selection test holds under either
/// reading).
pub fn cloudfront_matching_path(raw: &str, merge_slashes: bool) -> String {
    let b = raw.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        if let Some(v) = hex_escape(b, i) {
            {
                if is_unreserved(v) {
                    out.push(v as char);
                } else {
                    out.push_str(&format!("%{v:02X}"));
                }
                i += 3;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    if merge_slashes {
        while out.contains("//") {
            out = out.replace("//", "/");
        }
    }
    remove_dot_segments(&out)
}

/// RFC 3986, section 5.2.4.
pub fn remove_dot_segments(path: &str) -> String {
    let mut input = path.to_string();
    let mut output = String::new();
    while !input.is_empty() {
        if let Some(rest) = input
            .strip_prefix("../")
            .or_else(|| input.strip_prefix("./"))
        {
            input = rest.to_string();
        } else if input.starts_with("/./") {
            input = input[2..].to_string();
        } else if input == "/." {
            input = "/".to_string();
        } else if input.starts_with("/../") || input == "/.." {
            input = format!("/{}", &input[if input == "/.." { 3 } else { 4 }..]);
            match output.rfind('/') {
                Some(i) => output.truncate(i),
                None => output.clear(),
            }
        } else if input == "." || input == ".." {
            input.clear();
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |i| i + start);
            output.push_str(&input[..end]);
            input = input[end..].to_string();
        }
    }
    output
}

/// CloudFront path patterns: `*` any run, `?` one character, case-sensitive, the
/// leading `/` optional.
pub fn pattern_matches(pattern: &str, path: &str) -> bool {
    let with_slash = |x: &str| {
        if x.starts_with('/') {
            x.to_string()
        } else {
            format!("/{x}")
        }
    };
    glob_matches(&with_slash(pattern), &with_slash(path))
}

/// CloudFront's wildcards (path patterns, signed-URL policy resources): `*` any run,
/// `?` one byte, everything else literal. Greedy with one backtrack point, so O(n * m)
/// whatever the number of `*` (a policy is attacker-controlled).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), text.as_bytes());
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < s.len() {
        if i < p.len() && (p[i] == b'?' || p[i] == s[j]) && p[i] != b'*' {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == b'*' {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            // Let the last `*` take one more byte and retry.
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == b'*')
}

/// AWS WAF's `URL_DECODE` then `NORMALIZE_PATH` (repeated slashes, `./` and `../`
/// removed except at the start), as documented.
pub fn waf_transform(raw: &str, transforms: &[String]) -> Result<String, String> {
    let mut s = raw.to_string();
    for t in transforms {
        s = match t.as_str() {
            "NONE" => s,
            "URL_DECODE" => {
                let b = s.as_bytes();
                let mut out = Vec::new();
                let mut i = 0;
                while i < b.len() {
                    {
                        if let Some(v) = hex_escape(b, i) {
                            out.push(v);
                            i += 3;
                            continue;
                        }
                    }
                    out.push(b[i]);
                    i += 1;
                }
                String::from_utf8_lossy(&out).into_owned()
            }
            "NORMALIZE_PATH" => {
                let mut p = s.clone();
                while p.contains("//") {
                    p = p.replace("//", "/");
                }
                remove_dot_segments(&p)
            }
            other => return Err(format!("unknown WAF text transformation {other}")),
        };
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulation_follows_the_documented_rules() {
        assert_eq!(
            cloudfront_matching_path("/a/%2e%2E/b/%7e%41%2f", true),
            "/b/~A%2F"
        );
        assert_eq!(cloudfront_matching_path("//a//b", true), "/a/b");
        assert_eq!(cloudfront_matching_path("//a//b", false), "//a//b");
        assert_eq!(cloudfront_matching_path("/a/./b/../c", false), "/a/c");
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert!(pattern_matches("/vip/*", "/vip/a.jpg"));
        assert!(!pattern_matches("/vip/*", "/vipx/a.jpg"));
        assert!(!pattern_matches("/vip/*", "//vip/a.jpg"));
        assert!(pattern_matches("a?c/*", "/abc/x"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*b*c", "axxbyy"));
        assert!(glob_matches("https://h/p/*", "https://h/p/x?w=1"));
        assert!(!glob_matches("?", ""));
        // Many stars stay fast (no exponential backtracking).
        let pattern = "*a".repeat(30);
        assert!(!glob_matches(&pattern, &"a".repeat(29)));
        assert_eq!(
            waf_transform(
                "/x%2F..%2F%2Fvip/a",
                &["URL_DECODE".into(), "NORMALIZE_PATH".into()]
            ),
            Ok("/vip/a".to_string())
        );
    }
}
