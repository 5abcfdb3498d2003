//! The contract between the composition and the Lambda@Edge handler: the per-claim
//! settings travel as origin custom headers (Lambda@Edge has no environment), so the
//! names the function renders and the names `lambda/edge/js/index.js` reads (and the edge
//! tests' event harness sends) must be the same set, within CloudFront's 10 per origin.

mod common;

use std::collections::BTreeSet;

use regex::Regex;

const CLOUDFRONT_MAX_CUSTOM_HEADERS: usize = 10;

fn header_names_in(path: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::repo_root().join(path)).unwrap();
    Regex::new(r"'(x-imagecdn-[a-z-]+)'")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect()
}

#[test]
fn origin_headers_are_the_ones_the_edge_reads() {
    let rsp = common::run(
        &common::composite("complete.yaml"),
        &common::full_observed(),
    );
    let desired = common::desired(&rsp);
    let origins = desired["distribution"]["spec"]["forProvider"]["origin"]
        .as_array()
        .expect("distribution origins");
    assert!(!origins.is_empty());
    for origin in origins {
        let names: Vec<String> = origin["customHeader"]
            .as_array()
            .expect("customHeader")
            .iter()
            .map(|h| h["name"].as_str().unwrap().to_string())
            .collect();
        assert!(
            names.len() <= CLOUDFRONT_MAX_CUSTOM_HEADERS,
            "{} custom headers on origin {}",
            names.len(),
            origin["originId"]
        );
        let rendered: BTreeSet<String> = names.into_iter().collect();
        assert_eq!(rendered, header_names_in("lambda/edge/js/index.js"));
        assert_eq!(rendered, header_names_in("tests/edge/events.js"));
    }
}
