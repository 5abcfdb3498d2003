//! `function-imagecdn sign`: CloudFront signed URLs for a tenant that requires them.
//!
//! CloudFront checks a signature over a policy: the canned one (resource + expiry,
//! sent as `Expires`) or a custom one (optional start time and source IP, sent as
//! `Policy`). The classic scheme is RSA with SHA-1; CloudFront also takes SHA-256
//! (`Hash-Algorithm=SHA256`) with RSA or ECDSA P-256 keys. The policy JSON is written
//! byte for byte as AWS documents it (and as botocore's `CloudFrontSigner` builds it),
//! because the signature covers those exact bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};

/// Which digest the signature uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum HashAlgorithm {
    Sha1,
    Sha256,
}

/// What to sign.
#[derive(Clone, Debug)]
pub struct SignRequest {
    /// The URL (or a wildcard resource pattern for a custom policy).
    pub url: String,
    /// Epoch seconds after which the URL stops working.
    pub expires: u64,
    /// Epoch seconds before which it does not work yet (custom policy).
    pub not_before: Option<u64>,
    /// Source IP or CIDR allowed (custom policy).
    pub ip_address: Option<String>,
    /// Force a custom policy even without `not_before`/`ip_address`.
    pub custom_policy: bool,
    /// A resource pattern for the custom policy other than the URL (e.g. `https://cdn/x/*`).
    pub resource: Option<String>,
    pub key_pair_id: String,
    pub hash: HashAlgorithm,
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("private key: {0}")]
    Key(String),
    #[error("url: {0}")]
    Url(String),
    #[error("ECDSA keys sign with SHA-256 only: pass --hash sha256")]
    EcdsaNeedsSha256,
}

enum PrivateKey {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::ecdsa::SigningKey),
}

fn parse_key(pem: &str) -> Result<PrivateKey, SignError> {
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs1_pem(pem) {
        return Ok(PrivateKey::Rsa(Box::new(k)));
    }
    if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
        return Ok(PrivateKey::Rsa(Box::new(k)));
    }
    if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
        return Ok(PrivateKey::Ecdsa(k));
    }
    Err(SignError::Key(
        "not a PEM RSA (PKCS#1 or PKCS#8) or P-256 ECDSA (PKCS#8) private key".into(),
    ))
}

/// CloudFront's URL-safe base64: `+` -> `-`, `=` -> `_`, `/` -> `~`.
pub fn cloudfront_b64(data: &[u8]) -> String {
    STANDARD
        .encode(data)
        .replace('+', "-")
        .replace('=', "_")
        .replace('/', "~")
}

/// Escapes a string for the policy JSON like Python's `json.dumps` (ASCII only).
fn json_string(s: &str) -> Result<String, SignError> {
    if !s.is_ascii() || s.chars().any(|c| c.is_ascii_control()) {
        return Err(SignError::Url(
            "must be ASCII without control characters (percent-encode the rest)".into(),
        ));
    }
    Ok(format!(
        "\"{}\"",
        s.replace('\\', "\\\\").replace('"', "\\\"")
    ))
}

/// The policy document, in AWS's documented key order.
pub fn policy(req: &SignRequest) -> Result<String, SignError> {
    let resource = json_string(req.resource.as_deref().unwrap_or(&req.url))?;
    let mut condition = format!("{{\"DateLessThan\":{{\"AWS:EpochTime\":{}}}", req.expires);
    if let Some(ip) = &req.ip_address {
        let cidr = if ip.contains('/') {
            ip.clone()
        } else {
            format!("{ip}/32")
        };
        condition.push_str(&format!(
            ",\"IpAddress\":{{\"AWS:SourceIp\":{}}}",
            json_string(&cidr)?
        ));
    }
    if let Some(t) = req.not_before {
        condition.push_str(&format!(",\"DateGreaterThan\":{{\"AWS:EpochTime\":{t}}}"));
    }
    condition.push('}');
    Ok(format!(
        "{{\"Statement\":[{{\"Resource\":{resource},\"Condition\":{condition}}}]}}"
    ))
}

fn is_custom(req: &SignRequest) -> bool {
    req.custom_policy
        || req.not_before.is_some()
        || req.ip_address.is_some()
        || req.resource.is_some()
}

/// Signs the URL with the PEM private key.
pub fn sign_url(req: &SignRequest, private_key_pem: &str) -> Result<String, SignError> {
    if !req.url.starts_with("https://") && !req.url.starts_with("http://") {
        return Err(SignError::Url(format!(
            "{:?} must be an absolute http(s) URL",
            req.url
        )));
    }
    if req.url.contains('#') {
        return Err(SignError::Url("must not contain a fragment".into()));
    }
    let policy = policy(req)?;
    let signature = match (parse_key(private_key_pem)?, req.hash) {
        (PrivateKey::Rsa(k), HashAlgorithm::Sha1) => {
            rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(*k)
                .sign(policy.as_bytes())
                .to_vec()
        }
        (PrivateKey::Rsa(k), HashAlgorithm::Sha256) => {
            rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(*k)
                .sign(policy.as_bytes())
                .to_vec()
        }
        (PrivateKey::Ecdsa(k), HashAlgorithm::Sha256) => {
            let sig: p256::ecdsa::DerSignature = k.sign(policy.as_bytes());
            sig.as_bytes().to_vec()
        }
        (PrivateKey::Ecdsa(_), HashAlgorithm::Sha1) => return Err(SignError::EcdsaNeedsSha256),
    };
    let mut params = Vec::new();
    if is_custom(req) {
        params.push(format!("Policy={}", cloudfront_b64(policy.as_bytes())));
    } else {
        params.push(format!("Expires={}", req.expires));
    }
    params.push(format!("Signature={}", cloudfront_b64(&signature)));
    params.push(format!("Key-Pair-Id={}", req.key_pair_id));
    if req.hash == HashAlgorithm::Sha256 {
        params.push("Hash-Algorithm=SHA256".into());
    }
    let separator = if req.url.contains('?') { '&' } else { '?' };
    Ok(format!("{}{separator}{}", req.url, params.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SignRequest {
        SignRequest {
            url: "https://images.example.com/partners/media/a.jpg?w=400".into(),
            expires: 1_800_000_000,
            not_before: None,
            ip_address: None,
            custom_policy: false,
            resource: None,
            key_pair_id: "K2JCJMDEHXQW5F".into(),
            hash: HashAlgorithm::Sha1,
        }
    }

    #[test]
    fn canned_policy_is_awss_exact_form() {
        assert_eq!(
            policy(&request()).unwrap(),
            r#"{"Statement":[{"Resource":"https://images.example.com/partners/media/a.jpg?w=400","Condition":{"DateLessThan":{"AWS:EpochTime":1800000000}}}]}"#
        );
    }

    #[test]
    fn custom_policy_orders_conditions_like_aws() {
        let mut r = request();
        r.ip_address = Some("192.0.2.10".into());
        r.not_before = Some(1_700_000_000);
        assert_eq!(
            policy(&r).unwrap(),
            r#"{"Statement":[{"Resource":"https://images.example.com/partners/media/a.jpg?w=400","Condition":{"DateLessThan":{"AWS:EpochTime":1800000000},"IpAddress":{"AWS:SourceIp":"192.0.2.10/32"},"DateGreaterThan":{"AWS:EpochTime":1700000000}}}]}"#
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let mut r = request();
        r.url = "images.example.com/a.jpg".into();
        assert!(sign_url(&r, "").is_err());
        assert!(matches!(
            sign_url(&request(), "not a key"),
            Err(SignError::Key(_))
        ));
        r = request();
        r.url = "https://images.example.com/café.jpg".into();
        assert!(policy(&r).is_err());
    }
}
