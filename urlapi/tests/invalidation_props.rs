//! Property tests of the invalidation planner: for random bursts of takedowns, every
//! path is invalidated, CloudFront's in-progress quotas are never exceeded, each window
//! sends at most one request, and a request leaves out nothing that would have fit.

use std::collections::BTreeSet;

use imagecdn_urlapi::invalidation::{InProgress, Quotas, Takedown, batch_bytes, paths_cost, plan};
use imagecdn_urlapi::layout::cache_uri;
use imagecdn_urlapi::layout::invalidation_paths;
use proptest::prelude::*;

fn burst() -> impl Strategy<Value = Vec<Takedown>> {
    prop::collection::vec((0u32..400, 0usize..40), 0..600).prop_map(|items| {
        items
            .into_iter()
            .map(|(k, n)| Takedown {
                original_key: format!("shop/{k}.jpg"),
                variant_queries: (0..n).map(|i| format!("w={}", i + 1)).collect(),
            })
            .collect()
    })
}

/// The takedowns of each original merged (the planner's contract), in first-seen order.
fn merged(pending: &[Takedown]) -> Vec<Takedown> {
    let mut out: Vec<Takedown> = Vec::new();
    for t in pending {
        match out.iter_mut().find(|m| m.original_key == t.original_key) {
            Some(m) => {
                let mut all: BTreeSet<String> = m.variant_queries.iter().cloned().collect();
                all.extend(t.variant_queries.iter().cloned());
                m.variant_queries = all.into_iter().collect();
            }
            None => out.push(t.clone()),
        }
    }
    out
}

fn quotas() -> impl Strategy<Value = Quotas> {
    (3usize..3000, 0usize..16, 64usize..200_000).prop_map(
        |(max_paths, max_wildcards, max_batch_bytes)| Quotas {
            max_paths,
            max_wildcards,
            max_batch_bytes,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn one_window_respects_quotas_and_packs_greedily(pending in burst(), quotas in quotas(), busy_paths in 0usize..3000, busy_wildcards in 0usize..16) {
        let in_progress = InProgress { paths: busy_paths.min(quotas.max_paths), wildcards: busy_wildcards.min(quotas.max_wildcards) };
        let p = plan(&pending, in_progress, quotas);
        let pending = merged(&pending);
        let (paths, wildcards) = p.batch.as_ref().map_or((0, 0), |b| (b.paths.len(), b.wildcards));
        prop_assert!(in_progress.paths + paths <= quotas.max_paths);
        prop_assert!(in_progress.wildcards + wildcards <= quotas.max_wildcards);
        let bytes = p.batch.as_ref().map_or(2, |b| batch_bytes(&b.paths));
        prop_assert!(bytes <= quotas.max_batch_bytes);
        if let Some(b) = &p.batch {
            prop_assert_eq!(b.paths.iter().filter(|x| x.ends_with('*')).count(), b.wildcards);
            // Every batched original is fully covered.
            for key in &b.originals {
                let uri = cache_uri(key);
                let t = pending.iter().find(|t| &t.original_key == key).unwrap();
                prop_assert!(b.paths.contains(&uri));
                let wildcard = b.paths.contains(&format!("{uri}?*"));
                let exact_covered = t.variant_queries.iter().all(|q| b.paths.contains(&format!("{}?{}", uri, q)));
                prop_assert!(wildcard || exact_covered);
                // The cheaper form was used when both could have fitted.
                if wildcard {
                    // With at most one variant the exact form is never dearer, and it
                    // spends no wildcard.
                    prop_assert!(t.variant_queries.len() >= 2);
                }
            }
        }
        // Nothing deferred would have fitted in what the batch left over.
        let paths_left = quotas.max_paths - in_progress.paths - paths;
        let wildcards_left = quotas.max_wildcards - in_progress.wildcards - wildcards;
        // What one more original may add: the batch is 1 + the cost of its paths.
        let bytes_left = quotas.max_batch_bytes - 1 - p.batch.as_ref().map_or(0, |b| paths_cost(&b.paths));
        for t in &p.deferred {
            let exact = invalidation_paths(&t.original_key, false, &t.variant_queries);
            let wildcard = invalidation_paths(&t.original_key, true, &[]);
            let fits = |paths: &Vec<String>, w: usize| {
                paths.len() <= paths_left && w <= wildcards_left && paths_cost(paths) <= bytes_left
            };
            prop_assert!(!fits(&exact, 0) && !fits(&wildcard, 1));
        }
        // Conservation: each distinct original is batched or deferred, once.
        let distinct: BTreeSet<&str> = pending.iter().map(|t| t.original_key.as_str()).collect();
        let batched = p.batch.as_ref().map_or(0, |b| b.originals.len());
        prop_assert_eq!(batched + p.deferred.len(), distinct.len());
    }

    #[test]
    fn a_burst_drains_window_by_window(pending in burst(), quotas in quotas()) {
        // Between windows the previous invalidation completes.
        let pending = merged(&pending);
        let mut left = pending.clone();
        let mut covered: BTreeSet<String> = BTreeSet::new();
        let mut requests = 0;
        let can_ever_fit = |t: &Takedown| {
            let exact = invalidation_paths(&t.original_key, false, &t.variant_queries);
            let wildcard = invalidation_paths(&t.original_key, true, &[]);
            (exact.len() <= quotas.max_paths && batch_bytes(&exact) <= quotas.max_batch_bytes)
                || (quotas.max_wildcards > 0 && quotas.max_paths >= 2 && batch_bytes(&wildcard) <= quotas.max_batch_bytes)
        };
        for _window in 0..2000 {
            if left.is_empty() { break; }
            let p = plan(&left, InProgress::default(), quotas);
            match p.batch {
                Some(b) => { requests += 1; covered.extend(b.originals); }
                None => { prop_assert!(left.iter().all(|t| !can_ever_fit(t))); break; }
            }
            left = p.deferred;
        }
        for t in pending.iter().filter(|t| can_ever_fit(t)) {
            prop_assert!(covered.contains(&t.original_key), "{} never invalidated", t.original_key);
        }
        prop_assert!(requests <= pending.len());
    }
}
