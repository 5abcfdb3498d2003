//! CloudFront's signed-URL check for behaviors with trusted key groups, as its guide
//! describes it: a canned policy (`Expires`) or a custom one (`Policy`), the signature
//! (`Signature`, CloudFront's URL-safe base64) over the policy's exact bytes with a key
//! of the behavior's key groups (`Key-Pair-Id`), RSA with SHA-1 or (with
//! `Hash-Algorithm=SHA256`) SHA-256, or ECDSA P-256 with SHA-256. The canned policy's
//! bytes come from the same function that signs ([`function_imagecdn::sign::policy`]).

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use function_imagecdn::sign::{HashAlgorithm, SignRequest, policy};
use imagecdn_urlapi::path_matching::glob_matches;
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;

/// A public key CloudFront holds.
#[derive(Clone, Debug)]
pub enum PublicKey {
    Rsa(Box<rsa::RsaPublicKey>),
    Ecdsa(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    /// A PEM `PUBLIC KEY` (SubjectPublicKeyInfo), as CloudFront's PublicKey takes it.
    pub fn from_pem(pem: &str) -> Result<PublicKey, String> {
        if let Ok(k) = rsa::RsaPublicKey::from_public_key_pem(pem) {
            return Ok(PublicKey::Rsa(Box::new(k)));
        }
        if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            return Ok(PublicKey::Ecdsa(k));
        }
        Err("not a PEM RSA or P-256 public key".into())
    }
}

/// Why CloudFront refuses the request (403, with its own message text).
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal(pub &'static str);

const SIGNED_PARAMS: [&str; 5] = [
    "Expires",
    "Policy",
    "Signature",
    "Key-Pair-Id",
    "Hash-Algorithm",
];

/// CloudFront's URL-safe base64 back to bytes.
fn cloudfront_b64_decode(s: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(s.replace('-', "+").replace('_', "=").replace('~', "/"))
        .ok()
}

/// The query without the signing parameters, and those parameters.
pub fn split_signed_query(query: &str) -> (String, BTreeMap<String, String>) {
    let mut rest = Vec::new();
    let mut signed = BTreeMap::new();
    for piece in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        if SIGNED_PARAMS.contains(&name) {
            signed.insert(name.to_string(), value.to_string());
        } else {
            rest.push(piece);
        }
    }
    (rest.join("&"), signed)
}

fn ip_in(cidr: &str, ip: IpAddr) -> bool {
    let (net, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    match (net.parse::<IpAddr>(), bits.parse::<u32>(), ip) {
        (Ok(IpAddr::V4(n)), Ok(b), IpAddr::V4(i)) if b <= 32 => {
            let mask = if b == 0 { 0 } else { u32::MAX << (32 - b) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        _ => false,
    }
}

/// Checks a request against the behavior's trusted keys (`keys`: key ID -> key).
/// `url` is the URL the viewer asked for, `now` seconds since the epoch.
pub fn verify(
    url_without_query: &str,
    query: &str,
    keys: &BTreeMap<String, PublicKey>,
    viewer_ip: IpAddr,
    now: u64,
) -> Result<(), Refusal> {
    let (rest, signed) = split_signed_query(query);
    let url = if rest.is_empty() {
        url_without_query.to_string()
    } else {
        format!("{url_without_query}?{rest}")
    };
    let key_id = signed.get("Key-Pair-Id").ok_or(Refusal(
        "Missing Key-Pair-Id query parameter or cookie value",
    ))?;
    let signature = signed
        .get("Signature")
        .and_then(|s| cloudfront_b64_decode(s))
        .ok_or(Refusal("Missing Signature query parameter or cookie value"))?;
    let key = keys.get(key_id).ok_or(Refusal(
        "Key-Pair-Id is not in a key group this behavior trusts",
    ))?;
    let hash = match signed.get("Hash-Algorithm").map(String::as_str) {
        None | Some("SHA1") => HashAlgorithm::Sha1,
        Some("SHA256") => HashAlgorithm::Sha256,
        Some(_) => return Err(Refusal("Unsupported Hash-Algorithm")),
    };
    let policy_bytes = match (signed.get("Policy"), signed.get("Expires")) {
        (Some(p), _) => {
            let bytes = cloudfront_b64_decode(p).ok_or(Refusal("Malformed Policy"))?;
            let doc: Value =
                serde_json::from_slice(&bytes).map_err(|_| Refusal("Malformed Policy"))?;
            let statement = &doc["Statement"][0];
            let resource = statement["Resource"].as_str().unwrap_or("*");
            if !glob_matches(resource, &url) {
                return Err(Refusal(
                    "Access denied: the policy's resource does not match",
                ));
            }
            let condition = &statement["Condition"];
            let expires = condition
                .pointer("/DateLessThan/AWS:EpochTime")
                .and_then(Value::as_u64)
                .ok_or(Refusal("Malformed Policy"))?;
            if now >= expires {
                return Err(Refusal("Access denied: the URL expired"));
            }
            if let Some(start) = condition
                .pointer("/DateGreaterThan/AWS:EpochTime")
                .and_then(Value::as_u64)
                && now <= start
            {
                return Err(Refusal("Access denied: the URL is not valid yet"));
            }
            if let Some(cidr) = condition
                .pointer("/IpAddress/AWS:SourceIp")
                .and_then(Value::as_str)
                && !ip_in(cidr, viewer_ip)
            {
                return Err(Refusal("Access denied: the viewer's IP is not allowed"));
            }
            bytes
        }
        (None, Some(e)) => {
            let expires: u64 = e.parse().map_err(|_| Refusal("Malformed Expires"))?;
            if now >= expires {
                return Err(Refusal("Access denied: the URL expired"));
            }
            let canned = SignRequest {
                url: url.clone(),
                expires,
                not_before: None,
                ip_address: None,
                custom_policy: false,
                resource: None,
                key_pair_id: key_id.clone(),
                hash,
            };
            policy(&canned)
                .map_err(|_| Refusal("Access denied"))?
                .into_bytes()
        }
        (None, None) => return Err(Refusal("Missing Expires or Policy query parameter")),
    };
    let valid = match (key, hash) {
        (PublicKey::Rsa(k), HashAlgorithm::Sha1) => {
            rsa::pkcs1v15::Signature::try_from(signature.as_slice()).is_ok_and(|s| {
                rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new((**k).clone())
                    .verify(&policy_bytes, &s)
                    .is_ok()
            })
        }
        (PublicKey::Rsa(k), HashAlgorithm::Sha256) => {
            rsa::pkcs1v15::Signature::try_from(signature.as_slice()).is_ok_and(|s| {
                rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new((**k).clone())
                    .verify(&policy_bytes, &s)
                    .is_ok()
            })
        }
        (PublicKey::Ecdsa(k), HashAlgorithm::Sha256) => {
            p256::ecdsa::DerSignature::try_from(signature.as_slice())
                .is_ok_and(|s| k.verify(&policy_bytes, &s).is_ok())
        }
        (PublicKey::Ecdsa(_), HashAlgorithm::Sha1) => false,
    };
    if valid {
        Ok(())
    } else {
        Err(Refusal("Access denied: the signature does not match"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use function_imagecdn::sign::sign_url;

    const PRIVATE: &str = include_str!("../../example-keys/partners-private-key.pem");
    const PUBLIC: &str = include_str!("../../example-keys/partners-public-key.pem");

    fn keys() -> BTreeMap<String, PublicKey> {
        BTreeMap::from([("K1".to_string(), PublicKey::from_pem(PUBLIC).unwrap())])
    }

    fn request(url: &str) -> SignRequest {
        SignRequest {
            url: url.into(),
            expires: 2_000,
            not_before: None,
            ip_address: None,
            custom_policy: false,
            resource: None,
            key_pair_id: "K1".into(),
            hash: HashAlgorithm::Sha1,
        }
    }

    fn check(signed: &str, now: u64) -> Result<(), Refusal> {
        let (base, query) = signed.split_once('?').unwrap_or((signed, ""));
        verify(base, query, &keys(), "192.0.2.1".parse().unwrap(), now)
    }

    #[test]
    fn canned_and_custom_policies_verify_and_expire() {
        let url = "http://127.0.0.1:9/partners/media/a.jpg?w=400";
        let canned = sign_url(&request(url), PRIVATE).unwrap();
        assert_eq!(check(&canned, 1_000), Ok(()));
        assert!(check(&canned, 2_000).is_err(), "expired");
        let tampered = canned.replace("w=400", "w=800");
        assert!(check(&tampered, 1_000).is_err());
        let mut sha256 = request(url);
        sha256.hash = HashAlgorithm::Sha256;
        assert_eq!(check(&sign_url(&sha256, PRIVATE).unwrap(), 1_000), Ok(()));

        let mut custom = request(url);
        custom.resource = Some("http://127.0.0.1:9/partners/media/*".into());
        custom.not_before = Some(500);
        let custom = sign_url(&custom, PRIVATE).unwrap();
        assert_eq!(check(&custom, 1_000), Ok(()));
        assert!(check(&custom, 400).is_err(), "not yet valid");
        let mut other_ip = request(url);
        other_ip.ip_address = Some("198.51.100.0/24".into());
        assert!(check(&sign_url(&other_ip, PRIVATE).unwrap(), 1_000).is_err());
    }

    #[test]
    fn unsigned_and_unknown_keys_are_refused() {
        assert!(check("http://h/partners/media/a.jpg?w=1", 1).is_err());
        let mut r = request("http://h/a.jpg");
        r.key_pair_id = "K2".into();
        assert_eq!(
            check(&sign_url(&r, PRIVATE).unwrap(), 1),
            Err(Refusal(
                "Key-Pair-Id is not in a key group this behavior trusts"
            ))
        );
    }
}
