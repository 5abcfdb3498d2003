use std::sync::LazyLock;

use serde_json::{Value as Json, json};

use super::*;

static VALIDATOR: LazyLock<Validator> =
    LazyLock::new(|| Validator::from_dir(&default_crds_dir()).expect("loading the shared CRDs"));

fn yaml(text: &str) -> Json {
    serde_yaml_ng::from_str(text).expect("test YAML")
}

fn problems(text: &str) -> Vec<Problem> {
    VALIDATOR.validate(&yaml(text))
}

#[track_caller]
fn assert_valid(text: &str) {
    let found = problems(text);
    assert!(
        found.is_empty(),
        "expected no problems, got:\n{}",
        render(&found)
    );
}

/// Asserts that some problem is at `path` and its message contains `needle`.
#[track_caller]
fn assert_problem(found: &[Problem], path: &str, needle: &str) {
    assert!(
        found
            .iter()
            .any(|p| p.path == path && p.message.contains(needle)),
        "expected a problem at {path:?} containing {needle:?}, got:\n{}",
        render(found)
    );
}

fn render(found: &[Problem]) -> String {
    found.iter().map(|p| format!("  {p}\n")).collect()
}

const BUCKET: &str = r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata:
  name: photos-origin
spec:
  forProvider:
    region: us-east-1
"#;

#[test]
fn validator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Validator>();
}

#[test]
fn minimal_bucket_passes() {
    assert_valid(BUCKET);
}

#[test]
fn bucket_with_tags_and_provider_config_passes() {
    assert_valid(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata:
  name: photos-origin
  labels: {app.kubernetes.io/part-of: imagecdn}
  annotations: {crossplane.io/external-name: acme-photos-origin}
spec:
  deletionPolicy: Orphan
  managementPolicies: ["Observe", "Create", "Update", "Delete", "LateInitialize"]
  providerConfigRef: {name: aws}
  forProvider:
    region: eu-west-1
    forceDestroy: false
    tags: {team: photos, cost-center: "42"}
"#,
    );
}

#[test]
fn unknown_field_in_for_provider_is_named() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata: {name: b}
spec:
  forProvider:
    region: us-east-1
    bucketName: nope
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.bucketName",
        "unknown field \"bucketName\"",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
}

#[test]
fn wrong_type_is_reported() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata: {name: b}
spec:
  forProvider:
    region: us-east-1
    forceDestroy: "yes"
    tags: {n: 1}
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.forceDestroy",
        "must be of type boolean",
    );
    assert_problem(&found, "spec.forProvider.tags[n]", "must be of type string");
}

#[test]
fn missing_region_is_reported() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata: {name: b}
spec:
  forProvider: {}
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.region",
        "required field is missing",
    );
}

#[test]
fn missing_for_provider_and_name_are_reported() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata: {labels: {a: b}}
spec: {}
"#,
    );
    assert_problem(&found, "spec.forProvider", "required field is missing");
    assert_problem(&found, "metadata.name", "name or generateName is required");
}

#[test]
fn enum_and_metadata_problems_are_reported() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bucket
metadata:
  name: Photos_Origin
  namespace: default
  labels: {ok: "not ok!"}
  foo: bar
spec:
  deletionPolicy: Keep
  managementPolicies: ["Everything"]
  forProvider: {region: us-east-1}
"#,
    );
    assert_problem(&found, "spec.deletionPolicy", "unsupported value \"Keep\"");
    assert_problem(&found, "spec.managementPolicies[0]", "unsupported value");
    assert_problem(&found, "metadata.name", "RFC 1123");
    assert_problem(&found, "metadata.namespace", "cluster-scoped");
    assert_problem(&found, "metadata.labels[ok]", "invalid label value");
    assert_problem(&found, "metadata.foo", "unknown field");
}

const CACHE_POLICY_PARAMS: &str = r#"
    parametersInCacheKeyAndForwardedToOrigin:
      cookiesConfig: {cookieBehavior: none}
      headersConfig: {headerBehavior: none}
      queryStringsConfig:
        queryStringBehavior: whitelist
        queryStrings: {items: [w, h, q, fmt]}"#;

#[test]
fn cache_policy_without_name_fails_the_cel_rule() {
    let found = problems(&format!(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta2
kind: CachePolicy
metadata: {{name: images}}
spec:
  forProvider:
    minTtl: 0
    defaultTtl: 86400.5{CACHE_POLICY_PARAMS}
"#
    ));
    assert_problem(
        &found,
        "spec",
        "spec.forProvider.name is a required parameter",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
}

#[test]
fn cache_policy_with_name_in_init_provider_passes() {
    assert_valid(&format!(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta2
kind: CachePolicy
metadata: {{name: images}}
spec:
  initProvider:
    name: images
  forProvider:
    comment: image variants{CACHE_POLICY_PARAMS}
"#
    ));
}

#[test]
fn cache_policy_observe_only_needs_no_required_fields() {
    assert_valid(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta2
kind: CachePolicy
metadata: {name: images}
spec:
  managementPolicies: ["Observe"]
  forProvider: {}
"#,
    );
    // Explicit "*" behaves like the default.
    let found = problems(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta2
kind: CachePolicy
metadata: {name: images}
spec:
  managementPolicies: ["*"]
  forProvider: {}
"#,
    );
    assert_eq!(found.len(), 2, "{}", render(&found));
}

#[test]
fn cloudfront_function_init_provider_needs_code_secret_ref() {
    let found = problems(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta1
kind: Function
metadata: {name: rewrite}
spec:
  forProvider:
    runtime: cloudfront-js-2.0
    publish: true
    codeSecretRef: {name: rewrite-code, namespace: crossplane-system, key: index.js}
  initProvider:
    comment: rewrites image URLs
"#,
    );
    assert_problem(
        &found,
        "spec.initProvider.codeSecretRef",
        "required field is missing",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
}

#[test]
fn cloudfront_function_without_code_secret_ref_fails_the_cel_rule() {
    let found = problems(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta1
kind: Function
metadata: {name: rewrite}
spec:
  forProvider:
    runtime: cloudfront-js-2.0
"#,
    );
    assert_problem(&found, "spec", "codeSecretRef is a required parameter");
}

#[test]
fn list_type_set_duplicates_are_reported() {
    let found = problems(
        r#"
apiVersion: acm.aws.upbound.io/v1beta2
kind: Certificate
metadata: {name: cdn}
spec:
  forProvider:
    region: us-east-1
    domainName: img.example.com
    validationMethod: DNS
    subjectAlternativeNames: [a.example.com, b.example.com, a.example.com]
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.subjectAlternativeNames[2]",
        "duplicate value \"a.example.com\"",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
}

#[test]
fn distribution_with_region_is_an_unknown_field() {
    let found = problems(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta2
kind: Distribution
metadata: {name: cdn}
spec:
  forProvider:
    region: us-east-1
    enabled: true
    aliases: [img.example.com]
    origin:
      - domainName: photos-origin.s3.us-east-1.amazonaws.com
        originId: s3
        originAccessControlIdRef: {name: oac}
    defaultCacheBehavior:
      targetOriginId: s3
      viewerProtocolPolicy: redirect-to-https
      allowedMethods: [GET, HEAD]
      cachedMethods: [GET, HEAD]
      cachePolicyId: 658327ea-f89d-4fab-a63d-7e88639e58f6
      functionAssociation:
        - eventType: viewer-request
          functionArn: arn:aws:cloudfront::123456789012:function/rewrite
    restrictions:
      geoRestriction: {restrictionType: none}
    viewerCertificate:
      acmCertificateArn: arn:aws:acm:us-east-1:123456789012:certificate/abc
      sslSupportMethod: sni-only
      minimumProtocolVersion: TLSv1.2_2021
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.region",
        "unknown field \"region\"",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
}

#[test]
fn distribution_v1beta1_single_blocks_are_lists() {
    // In the deprecated v1beta1, defaultCacheBehavior is a list: an object is a type error.
    let found = problems(
        r#"
apiVersion: cloudfront.aws.upbound.io/v1beta1
kind: Distribution
metadata: {name: cdn}
spec:
  forProvider:
    enabled: true
    defaultCacheBehavior: {targetOriginId: s3}
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.defaultCacheBehavior",
        "must be of type array",
    );
}

#[test]
fn unknown_version_and_kind_are_reported() {
    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta9
kind: Bucket
metadata: {name: b}
spec: {forProvider: {region: us-east-1}}
"#,
    );
    assert_problem(&found, "apiVersion", "\"v1beta9\"");
    assert_problem(&found, "apiVersion", "v1beta2");

    let found = problems(
        r#"
apiVersion: s3.aws.upbound.io/v1beta2
kind: Bukket
metadata: {name: b}
"#,
    );
    assert_problem(&found, "kind", "unknown kind \"Bukket\"");

    let found = problems("kind: Bucket\nmetadata: {name: b}\n");
    assert_problem(&found, "apiVersion", "required field is missing");
}

#[test]
fn provider_kubernetes_object_with_a_secret_passes() {
    assert_valid(
        r#"
apiVersion: kubernetes.crossplane.io/v1alpha2
kind: Object
metadata: {name: rewrite-code}
spec:
  providerConfigRef: {name: in-cluster}
  forProvider:
    manifest:
      apiVersion: v1
      kind: Secret
      metadata:
        name: rewrite-code
        namespace: crossplane-system
      type: Opaque
      stringData:
        index.js: |
          function handler(event) { return event.request; }
      anything: {goes: [here, 1, true]}
"#,
    );
}

#[test]
fn provider_kubernetes_object_embedded_resource_needs_kind() {
    let found = problems(
        r#"
apiVersion: kubernetes.crossplane.io/v1alpha2
kind: Object
metadata: {name: rewrite-code}
spec:
  forProvider:
    manifest:
      apiVersion: v1
      metadata: {name: x}
      data: {}
"#,
    );
    assert_problem(
        &found,
        "spec.forProvider.manifest.kind",
        "required field is missing",
    );
}

#[test]
fn aws_provider_config_duration_rules_are_evaluated() {
    let config = |limiter: &str| {
        format!(
            r#"
apiVersion: aws.upbound.io/v1beta1
kind: ProviderConfig
metadata: {{name: default}}
spec:
  credentials: {{source: IRSA}}
  reconciliationPolicy:
    exponentialFailureRateLimiter: {limiter}
"#
        )
    };
    assert_valid(&config("{baseDelay: 5s, maxDelay: 2m}"));
    let found = problems(&config("{baseDelay: 500ms, maxDelay: 30s}"));
    assert_problem(
        &found,
        "spec.reconciliationPolicy.exponentialFailureRateLimiter.baseDelay",
        "baseDelay must be at least 1s",
    );
    assert_problem(
        &found,
        "spec.reconciliationPolicy.exponentialFailureRateLimiter.maxDelay",
        "maxDelay must be at least 60s",
    );
    assert_eq!(found.len(), 2, "{}", render(&found));
    let found = problems(&config("{baseDelay: 90s, maxDelay: 1m}"));
    assert_problem(
        &found,
        "spec.reconciliationPolicy.exponentialFailureRateLimiter",
        "maxDelay must be greater than or equal to baseDelay",
    );
    assert_eq!(found.len(), 1, "{}", render(&found));
    let found = problems(&config("{baseDelay: 90s}"));
    assert_problem(
        &found,
        "spec.reconciliationPolicy",
        "when maxDelay is omitted it defaults to 60s",
    );
    let found = problems(&config("{baseDelay: soon}"));
    assert_problem(
        &found,
        "spec.reconciliationPolicy.exponentialFailureRateLimiter.baseDelay",
        "could not be evaluated",
    );
}

#[test]
fn xrd_cel_rule_message_is_reported() {
    let mut v = Validator::new();
    v.add_xrd(
        r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xthings.example.org}
spec:
  group: example.org
  names: {kind: XThing, plural: xthings}
  claimNames: {kind: Thing, plural: things}
  versions:
    - name: v1alpha1
      served: true
      referenceable: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
                - rule: self.a != self.b
                  message: a and b must differ
                - rule: self.tenants.all(t, t.name.matches('^[a-z]+$'))
                  message: tenant names are lowercase letters
                - rule: self.tenants.size() <= 3 && !self.tenants.exists(t, t.name == 'admin')
                  message: at most 3 tenants, none named admin
                - rule: "!has(self.replicas) || self.replicas.isSorted()"
                  message: replicas must be sorted
                - rule: self.a == oldSelf.a
                  message: a is immutable
              properties:
                a: {type: string}
                b: {type: string}
                replicas: {type: array, items: {type: string}}
                tenants:
                  type: array
                  default: []
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string}
                      weight: {type: integer, default: 1, minimum: 1}
                    x-kubernetes-validations:
                      - rule: self.weight <= 10
                        message: weight at most 10
              required: [a, b]
"#,
    )
    .unwrap();
    let ok = json!({
        "apiVersion": "example.org/v1alpha1", "kind": "Thing",
        "metadata": {"name": "t", "namespace": "team-a"},
        "spec": {"a": "x", "b": "y", "tenants": [{"name": "shop"}],
                 "compositionSelector": {"matchLabels": {"provider": "aws"}},
                 "writeConnectionSecretToRef": {"name": "s"}}
    });
    let found = v.validate(&ok);
    assert!(found.is_empty(), "{}", render(&found));

    let bad = json!({
        "apiVersion": "example.org/v1alpha1", "kind": "Thing",
        "metadata": {"name": "t", "namespace": "team-a"},
        "spec": {"a": "x", "b": "x", "replicas": ["b", "a"],
                 "tenants": [{"name": "Shop"}, {"name": "admin", "weight": 11}]}
    });
    let found = v.validate(&bad);
    assert_problem(&found, "spec", "a and b must differ");
    assert_problem(&found, "spec", "tenant names are lowercase letters");
    assert_problem(&found, "spec", "at most 3 tenants, none named admin");
    assert_problem(&found, "spec", "replicas must be sorted");
    assert_problem(&found, "spec.tenants[1]", "weight at most 10");
    assert!(
        !found.iter().any(|p| p.message.contains("immutable")),
        "{}",
        render(&found)
    );
    assert_eq!(found.len(), 5, "{}", render(&found));

    // The composite kind is cluster-scoped.
    let xr = json!({
        "apiVersion": "example.org/v1alpha1", "kind": "XThing",
        "metadata": {"name": "t", "namespace": "team-a"},
        "spec": {"a": "x", "b": "y", "claimRef": {"name": "t"}}
    });
    let found = v.validate(&xr);
    assert_problem(&found, "metadata.namespace", "cluster-scoped");
    assert_eq!(found.len(), 1, "{}", render(&found));

    // Unknown fields and missing required fields in the XRD schema.
    let bad = json!({
        "apiVersion": "example.org/v1alpha1", "kind": "Thing",
        "metadata": {"name": "t"},
        "spec": {"a": "x", "c": 1, "tenants": [{"weight": 0}]}
    });
    let found = v.validate(&bad);
    assert_problem(&found, "spec.c", "unknown field");
    assert_problem(&found, "spec.b", "required field is missing");
    assert_problem(&found, "spec.tenants[0].name", "required field is missing");
    assert_problem(&found, "spec.tenants[0].weight", "must be >= 1");
}

#[test]
fn rules_that_cannot_compile_or_evaluate_are_problems() {
    let mut v = Validator::new();
    v.add_xrd(
        r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {name: xbroken.example.org}
spec:
  group: example.org
  names: {kind: XBroken, plural: xbroken}
  versions:
    - name: v1
      served: true
      referenceable: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                a: {type: string}
                n: {type: number}
              x-kubernetes-validations:
                - rule: "self.a ==="
                - rule: self.missing == 'x'
                - rule: self.n > 1.5
                - rule: self.a
"#,
    )
    .unwrap();
    let obj = json!({
        "apiVersion": "example.org/v1", "kind": "XBroken",
        "metadata": {"name": "b"}, "spec": {"a": "x", "n": 1}
    });
    let found = v.validate(&obj);
    assert_problem(&found, "spec", "does not compile");
    assert_problem(&found, "spec", "could not be evaluated");
    assert_problem(&found, "spec", "failed rule: self.n > 1.5");
    assert_problem(&found, "spec", "not a bool");
    assert_eq!(found.len(), 4, "{}", render(&found));
}

#[test]
fn list_type_map_and_int_or_string() {
    let mut v = Validator::new();
    v.add_crd(
        r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.org}
spec:
  group: example.org
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                ports:
                  type: array
                  x-kubernetes-list-type: map
                  x-kubernetes-list-map-keys: [name, protocol]
                  items:
                    type: object
                    required: [name]
                    properties:
                      name: {type: string, maxLength: 5, pattern: '^[a-z]+$'}
                      protocol: {type: string, default: TCP}
                      port: {x-kubernetes-int-or-string: true}
                      count: {type: integer}
                free: {type: object, x-kubernetes-preserve-unknown-fields: true}
                bare: {type: object}
    - name: v0
      served: false
      storage: false
"#,
    )
    .unwrap();
    let obj = json!({
        "apiVersion": "example.org/v1", "kind": "Widget",
        "metadata": {"generateName": "w-"},
        "spec": {
            "ports": [
                {"name": "http", "port": 80},
                {"name": "http", "protocol": "TCP", "port": "eighty"},
                {"name": "http", "protocol": "UDP", "port": 1.5, "count": 2.0},
                {"name": "toolong"}
            ],
            "free": {"x": {"y": 1}},
            "bare": {"z": 1}
        }
    });
    let found = v.validate(&obj);
    assert_problem(
        &found,
        "spec.ports[1]",
        "duplicate entry with key {name: \"http\", protocol: \"TCP\"}",
    );
    assert_problem(
        &found,
        "spec.ports[2].port",
        "must be an integer or a string",
    );
    assert_problem(&found, "spec.ports[2].count", "must be of type integer");
    assert_problem(&found, "spec.ports[3].name", "at most 5 characters");
    assert_problem(&found, "spec.bare.z", "unknown field");
    assert_eq!(found.len(), 5, "{}", render(&found));

    let found = v.validate(
        &json!({"apiVersion": "example.org/v0", "kind": "Widget", "metadata": {"name": "w"}}),
    );
    assert_problem(&found, "apiVersion", "not served");
}

#[test]
fn yaml_stream_reports_document_index_and_name() {
    let text = format!(
        "{BUCKET}---\n# empty\n---\napiVersion: s3.aws.upbound.io/v1beta2\nkind: Bucket\nmetadata: {{name: bad}}\nspec: {{forProvider: {{region: 1}}}}\n"
    );
    let found = VALIDATOR.validate_yaml_stream(&text).unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    let (doc, name, problem) = &found[0];
    assert_eq!(*doc, 2);
    assert_eq!(name, "Bucket/bad");
    assert_eq!(problem.path, "spec.forProvider.region");
    assert!(VALIDATOR.validate_yaml_stream("a: [").is_err());
}

#[test]
fn problem_display() {
    let p = Problem {
        path: "spec.forProvider.origin[0].domainName".into(),
        message: "required field is missing".into(),
    };
    assert_eq!(
        p.to_string(),
        "spec.forProvider.origin[0].domainName: required field is missing"
    );
}

/// Every shared CRD's schema compiles (CEL rules included), and a skeleton object of each
/// served kind/version gets no schema problems.
#[test]
fn all_shared_crds_compile() {
    let kinds = VALIDATOR.kinds();
    assert!(kinds.len() >= 41, "{kinds:?}");
    for entry in kinds {
        let (api_version, kind) = entry.split_once(' ').unwrap();
        let obj = json!({
            "apiVersion": api_version, "kind": kind, "metadata": {"name": "x"},
            "spec": {"forProvider": {}, "managementPolicies": ["Observe"]}
        });
        let found = VALIDATOR.validate(&obj);
        let schema_errors: Vec<&Problem> = found
            .iter()
            .filter(|p| {
                p.message.contains("invalid schema") || p.message.contains("could not be evaluated")
            })
            .collect();
        assert!(schema_errors.is_empty(), "{entry}: {schema_errors:?}");
    }
}

#[test]
fn loading_and_validating_is_fast() {
    let start = std::time::Instant::now();
    let v = Validator::from_dir(&default_crds_dir()).unwrap();
    let loaded = start.elapsed();
    let obj = yaml(BUCKET);
    for _ in 0..100 {
        assert!(v.validate(&obj).is_empty());
    }
    let total = start.elapsed();
    eprintln!("load {loaded:?}, load + 100 validations {total:?}");
    assert!(total.as_secs() < 20, "too slow: {total:?}");
}

/// The CEL functions the XRD rules may use: standard library, strings/lists extensions and
/// the Kubernetes libraries implemented here.
#[test]
fn cel_functions() {
    let mut v = Validator::new();
    let rules = [
        "self.names.all(n, n.matches('^[a-z-]+$'))",
        "self.names.exists(n, n.startsWith('sh'))",
        "self.names.exists_one(n, n.endsWith('og'))",
        "self.names.size() == 3 && size(self.names) == 3",
        "self.tags.size() == 1 && 'team' in self.tags && self.tags['team'] == 'photos'",
        "self.names.map(n, n.upperAscii()).filter(n, n.contains('SH')).size() == 2",
        "self.names[0].lowerAscii() == 'shop' && 'a-b'.split('-') == ['a', 'b']",
        "self.names.indexOf('blog') == 1 && self.names.lastIndexOf('x') == -1",
        "[1, 2, 3].isSorted() && [3, 1].sum() == 4 && [3, 1].min() == 1 && [3, 1].max() == 3",
        "sets.contains(self.names, ['shop']) && !sets.intersects(self.names, ['x'])",
        "sets.equivalent(['a', 'b'], ['b', 'a'])",
        "'img-123'.find('[0-9]+') == '123' && 'a1b2'.findAll('[0-9]') == ['1', '2']",
        "self.ratio > 0 && self.ratio < 1.0 && self.count >= 2",
        "!has(self.missing) && has(self.tags)",
        "self.?missing.orValue('d') == 'd'",
        "duration('1m') > duration('30s') && timestamp('2026-01-01T00:00:00Z') > timestamp('2025-01-01T00:00:00Z')",
        "self.__namespace__ == 'ns' && self.names.join(',') == 'shop,blog,workshop'",
        "int('3') == 3 && string(3) == '3' && double(1) == 1.0",
    ];
    let rules_yaml: String = rules
        .iter()
        .map(|r| {
            format!(
                "                - rule: {}\n",
                serde_json::to_string(r).unwrap()
            )
        })
        .collect();
    v.add_xrd(&format!(
        r#"
apiVersion: apiextensions.crossplane.io/v1
kind: CompositeResourceDefinition
metadata: {{name: xcels.example.org}}
spec:
  group: example.org
  names: {{kind: XCel, plural: xcels}}
  versions:
    - name: v1
      served: true
      referenceable: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              x-kubernetes-validations:
{rules_yaml}              properties:
                names: {{type: array, items: {{type: string}}}}
                tags: {{type: object, additionalProperties: {{type: string}}}}
                ratio: {{type: number}}
                count: {{type: integer}}
                missing: {{type: string}}
                namespace: {{type: string}}
"#
    ))
    .unwrap();
    let obj = json!({
        "apiVersion": "example.org/v1", "kind": "XCel", "metadata": {"name": "c"},
        "spec": {"names": ["shop", "blog", "workshop"], "tags": {"team": "photos"},
                 "ratio": 0.5, "count": 2, "namespace": "ns"}
    });
    let found = v.validate(&obj);
    assert!(found.is_empty(), "{}", render(&found));

    // And they do fail: every rule over a changed object.
    let obj = json!({
        "apiVersion": "example.org/v1", "kind": "XCel", "metadata": {"name": "c"},
        "spec": {"names": ["Shop"], "tags": {}, "ratio": 1, "count": 1, "missing": "m", "namespace": "x"}
    });
    let found = v.validate(&obj);
    assert_eq!(found.len(), 12, "{}", render(&found));
    assert!(
        found.iter().all(|p| p.message.starts_with("failed rule: ")),
        "{}",
        render(&found)
    );
}
