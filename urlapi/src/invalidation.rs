//! Plans CloudFront invalidations for takedowns within CloudFront's quotas.
//!
//! CloudFront allows at most 3,000 paths and 15 wildcard paths in progress per
//! distribution, and bills per path. Each window (the flush schedule) sends at most
//! one CreateInvalidation request, packing as many pending originals as the remaining
//! capacity allows; the rest wait for the next window. Per original the cheaper form
//! that fits is used: the exact paths (the untransformed path plus one per stored
//! variant; complete because the edge caches a variant for long only once it is
//! stored), or the untransformed path plus one wildcard over its query variants.
//!
//! A batch also travels through Step Functions, whose state is limited to 256 KiB
//! (`States.DataLimitExceeded`, which no `Catch` can handle), so a batch is also
//! capped by its serialized size, whatever the key lengths.

use crate::layout::invalidation_paths;

/// Per-distribution limits on invalidations in progress, and the largest batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quotas {
    pub max_paths: usize,
    pub max_wildcards: usize,
    /// Largest serialized path list of one batch ([`batch_bytes`]).
    pub max_batch_bytes: usize,
}

/// CloudFront's documented quotas; batches of at most 160 KiB of paths, which leaves
/// room within Step Functions' 256 KiB for the rest of the state (caller reference,
/// markers, the execution's input).
pub const CLOUDFRONT_QUOTAS: Quotas = Quotas {
    max_paths: 3000,
    max_wildcards: 15,
    max_batch_bytes: 160 * 1024,
};

/// The serialized size of a path list as JSON (`["a","b"]`): every path is ASCII
/// (percent-encoded), so each costs its length plus quotes and a separator.
pub fn batch_bytes(paths: &[String]) -> usize {
    1 + paths_cost(paths).max(1)
}

/// What `paths` add to a batch's serialized size: length, quotes and one comma each.
pub fn paths_cost(paths: &[String]) -> usize {
    paths.iter().map(|p| p.len() + 3).sum()
}

/// Paths of invalidations still in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InProgress {
    pub paths: usize,
    pub wildcards: usize,
}

/// One original to purge from the edge, with the canonical queries of its stored variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Takedown {
    pub original_key: String,
    pub variant_queries: Vec<String>,
}

/// Merges repeated takedowns of one original (union of variant queries), keeping the
/// order of first appearance.
fn merge(pending: &[Takedown]) -> Vec<Takedown> {
    let mut merged: Vec<Takedown> = Vec::new();
    for t in pending {
        match merged.iter_mut().find(|m| m.original_key == t.original_key) {
            Some(m) => {
                for q in &t.variant_queries {
                    if !m.variant_queries.contains(q) {
                        m.variant_queries.push(q.clone());
                    }
                }
            }
            None => merged.push(t.clone()),
        }
    }
    merged
}

/// One CreateInvalidation request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    pub paths: Vec<String>,
    pub originals: Vec<String>,
    pub wildcards: usize,
}

/// What to send now and what waits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub batch: Option<Batch>,
    pub deferred: Vec<Takedown>,
}

/// The paths and wildcard count of each form for one takedown: (exact, wildcard).
fn forms(t: &Takedown) -> [(Vec<String>, usize); 2] {
    [
        (
            invalidation_paths(&t.original_key, false, &t.variant_queries),
            0,
        ),
        (invalidation_paths(&t.original_key, true, &[]), 1),
    ]
}

/// Plans one window: the pending takedowns (oldest first; repeats of an original are
/// merged) against what is already in progress.
pub fn plan(pending: &[Takedown], in_progress: InProgress, quotas: Quotas) -> Plan {
    let mut paths_left = quotas.max_paths.saturating_sub(in_progress.paths);
    let mut wildcards_left = quotas.max_wildcards.saturating_sub(in_progress.wildcards);
    let mut bytes_left = quotas.max_batch_bytes.saturating_sub(1);
    let mut batch = Batch {
        paths: Vec::new(),
        originals: Vec::new(),
        wildcards: 0,
    };
    let mut deferred = Vec::new();
    for t in merge(pending) {
        let choice = forms(&t)
            .into_iter()
            .filter(|(paths, w)| {
                paths.len() <= paths_left && *w <= wildcards_left && paths_cost(paths) <= bytes_left
            })
            .min_by_key(|(paths, w)| (paths.len(), *w));
        match choice {
            Some((paths, w)) => {
                paths_left -= paths.len();
                wildcards_left -= w;
                bytes_left -= paths_cost(&paths);
                batch.wildcards += w;
                batch.paths.extend(paths);
                batch.originals.push(t.original_key.clone());
            }
            None => deferred.push(t),
        }
    }
    Plan {
        batch: (!batch.paths.is_empty()).then_some(batch),
        deferred,
    }
}

/// CloudFront's CallerReference for a batch made of these queue entries (their
/// storage keys, each unique to one queued takedown). CloudFront answers a second
/// CreateInvalidation with the same reference and paths with the first invalidation,
/// so the reference must be the same only when the same batch is retried: a repeated
/// takedown of the same original (same paths, new entry) gets a new one.
pub fn caller_reference(entries: &[String]) -> String {
    let mut sorted: Vec<&[u8]> = entries.iter().map(|e| e.as_bytes()).collect();
    sorted.sort();
    let hex = crate::digest::sha256_hex(&sorted, 16);
    format!("imagecdn-{hex}-{}", entries.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn takedown(key: &str, variants: usize) -> Takedown {
        Takedown {
            original_key: key.into(),
            variant_queries: (0..variants).map(|i| format!("w={}", i + 1)).collect(),
        }
    }

    #[test]
    fn few_variants_use_exact_paths_many_use_a_wildcard() {
        let plan = plan(
            &[takedown("shop/a.jpg", 1), takedown("shop/b.jpg", 9)],
            InProgress::default(),
            CLOUDFRONT_QUOTAS,
        );
        let batch = plan.batch.unwrap();
        assert_eq!(
            batch.paths,
            vec![
                "/shop/a.jpg",
                "/shop/a.jpg?w=1",
                "/shop/b.jpg",
                "/shop/b.jpg?*"
            ]
        );
        assert_eq!(batch.wildcards, 1);
    }

    #[test]
    fn wildcard_quota_forces_exact_paths_then_deferral() {
        let pending: Vec<Takedown> = (0..3).map(|i| takedown(&format!("k{i}"), 5)).collect();
        let quotas = Quotas {
            max_paths: 10,
            max_wildcards: 1,
            ..CLOUDFRONT_QUOTAS
        };
        let plan = plan(&pending, InProgress::default(), quotas);
        let batch = plan.batch.unwrap();
        // k0 takes the only wildcard (2 paths), k1 goes exact (6 paths), k2 fits neither.
        assert_eq!(batch.originals, vec!["k0", "k1"]);
        assert_eq!(batch.paths.len(), 8);
        assert_eq!(plan.deferred, vec![pending[2].clone()]);
    }

    #[test]
    fn repeated_takedowns_of_one_original_are_merged() {
        let plan = plan(
            &[takedown("a", 0), takedown("a", 1)],
            InProgress::default(),
            CLOUDFRONT_QUOTAS,
        );
        assert_eq!(plan.batch.unwrap().paths, vec!["/a", "/a?w=1"]);
    }

    #[test]
    fn caller_reference_names_the_entries_not_the_paths() {
        let a = vec![
            "pending/1-a.json".to_string(),
            "pending/2-b.json".to_string(),
        ];
        let reversed: Vec<String> = a.iter().rev().cloned().collect();
        assert_eq!(caller_reference(&a), caller_reference(&reversed));
        // The same original taken down again: same paths, a new entry, a new reference.
        let again = vec![
            "pending/3-a.json".to_string(),
            "pending/2-b.json".to_string(),
        ];
        assert_ne!(caller_reference(&a), caller_reference(&again));
        assert!(caller_reference(&a).len() <= 128, "CloudFront's limit");
    }

    #[test]
    fn batches_fit_the_state_size_limit_whatever_the_key_lengths() {
        let long = |i: usize| Takedown {
            original_key: format!("shop/{i}/{}", "\u{753b}".repeat(110)),
            variant_queries: (0..3).map(|w| format!("w={}", w + 1)).collect(),
        };
        let pending: Vec<Takedown> = (0..200).map(long).collect();
        let p = plan(&pending, InProgress::default(), CLOUDFRONT_QUOTAS);
        let b = p.batch.unwrap();
        assert!(batch_bytes(&b.paths) <= CLOUDFRONT_QUOTAS.max_batch_bytes);
        assert_eq!(
            serde_json::to_string(&b.paths).unwrap().len(),
            batch_bytes(&b.paths)
        );
        assert!(!p.deferred.is_empty(), "the rest waits for the next window");
    }
}
