"""The seed's promises, each measured through the whole emulated delivery path of the
complete example (see conftest.py)."""

from __future__ import annotations

import concurrent.futures
import datetime
import io
import time

from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from PIL import Image

from conftest import EXAMPLE_KEYS, Cdn


def delta(before: dict, after: dict, name: str) -> int:
    return after[name] - before[name]


def image_size(body: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(body)) as im:
        return im.size


# --- junk never mints a cache object ------------------------------------------------


# Each group is one semantic variant under the URL API (widths snap up to the claim's
# ladder, dpr multiplies the width, names are case-insensitive, aliases are the same
# parameter, unknown and tracking parameters are dropped, order does not matter).
REQUEST_LOG = [
    [
        "/shop/hopper.jpg?w=400",
        "/shop/hopper.jpg?width=400",
        "/shop/hopper.jpg?W=400",
        "/shop/hopper.jpg?w=400&utm_source=newsletter&fbclid=abc123",
        "/shop/hopper.jpg?w=200&dpr=2",
        "/shop/hopper.jpg?w=401",
        "/shop/hopper.jpg?w=480",
        "/shop/hopper.jpg?gclid=x&w=480&_=1700000000",
    ],
    [
        "/shop/hopper.jpg?w=400&fm=webp",
        "/shop/hopper.jpg?fm=webp&w=400",
        "/shop/hopper.jpg?format=WEBP&width=400",
        "/shop/hopper.jpg?FM=webp&w=480&ref=twitter",
    ],
    [
        "/shop/hopper.jpg?preset=thumb",
        "/shop/hopper.jpg?p=thumb",
        "/shop/hopper.jpg?p=thumb&utm_campaign=x",
        "/shop/hopper.jpg?w=200&h=200&fit=cover&fm=webp&q=70",
    ],
    [
        "/shop/coffee.png?w=320&q=60&fm=jpeg",
        "/shop/coffee.png?q=60&fm=jpg&w=320",
        "/shop/coffee.png?quality=60&format=jpeg&width=320&mc_eid=1",
    ],
]


def test_junk_never_mints_a_cache_object(cdn: Cdn):
    before = cdn.stats()
    keys = set()
    for group in REQUEST_LOG:
        group_keys = set()
        for path in group:
            r = cdn.get(path)
            if r.status == 301:
                r = cdn.get(r.headers["location"])
            assert r.status == 200, (path, r.status, r.body[:200])
            group_keys.add(r.headers["x-imagecdn-cache-key"])
        assert len(group_keys) == 1, f"one variant, several cache keys: {group_keys}"
        keys |= group_keys
    after = cdn.stats()
    assert len(keys) == len(REQUEST_LOG)
    assert delta(before, after, "cache_objects") == len(REQUEST_LOG)
    # One trip to the origin per variant; presets pre-computed at upload need no transform.
    assert delta(before, after, "origin_requests") == len(REQUEST_LOG)
    assert delta(before, after, "transforms") <= len(REQUEST_LOG)
    requests = sum(len(g) for g in REQUEST_LOG)
    print(f"{requests} requests, {len(REQUEST_LOG)} cache objects, {delta(before, after, 'origin_requests')} origin requests")


# --- one transform per burst --------------------------------------------------------


def test_a_burst_of_misses_causes_one_transform(cdn: Cdn):
    path = "/shop/path.jpg?w=960&fm=webp"
    before = cdn.stats()
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda _: cdn.get(path), range(50)))
    after = cdn.stats()
    assert [r.status for r in replies] == [200] * 50
    assert len({r.body for r in replies}) == 1, "every viewer got the same bytes"
    assert image_size(replies[0].body)[0] == 960
    assert delta(before, after, "transforms") == 1
    assert delta(before, after, "lambda_invocations") == 1
    assert delta(before, after, "origin_requests") == 1
    layers = [r.headers["x-imagecdn-layer"] for r in replies]
    print(f"layers: origin {layers.count('origin')}, shield {layers.count('shield')}, edge {layers.count('edge')}")


# --- failover -----------------------------------------------------------------------


def stream_of_new_variants(cdn: Cdn, widths: list[int]) -> list:
    return [cdn.get(f"/shop/gray.jpg?w={w}&fm=jpeg&q=55") for w in widths]


def test_failover_serves_every_request_while_the_primary_refuses_then_hangs(cdn: Cdn):
    primary = next(r for r in cdn.config()["regions"] if r["primary"])["region"]
    # The replicas hold the originals (replication ran at upload).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if cdn.get("/shop/gray.jpg?w=160").status == 200:
            break
        time.sleep(0.5)
    try:
        for mode, widths in (("refuse", [200, 320, 480]), ("hang", [640, 960])):
            assert cdn.post(f"/_imagecdn/regions/{primary}/outage?mode={mode}")["mode"] == mode
            before = cdn.stats()
            started = time.monotonic()
            replies = stream_of_new_variants(cdn, widths)
            elapsed = time.monotonic() - started
            after = cdn.stats()
            assert [r.status for r in replies] == [200] * len(widths), [(r.status, r.body[:200]) for r in replies]
            for r, w in zip(replies, widths):
                assert image_size(r.body)[0] == w
                # Not verified against the primary: cached briefly only.
                assert r.headers["cache-control"] == "public, max-age=60"
            served = {region: delta(before["region_requests"], after["region_requests"], region) for region in after["region_requests"]}
            print(f"primary {mode}: {len(widths)} new variants in {elapsed:.1f} s; S3 requests by region: {served}")
            assert delta(before, after, "errors_5xx") == 0
            others = [r for r in served if r != primary]
            assert any(served[r] > 0 for r in others), "a replica served the originals"
            # Each request within the edge's deadline (24 s) plus CloudFront's overhead.
            assert elapsed < 30 * len(widths)
    finally:
        cdn.post(f"/_imagecdn/regions/{primary}/restore")
    assert cdn.get("/shop/gray.jpg?w=1280").status == 200


# --- signed tenants -----------------------------------------------------------------


def signer(private_pem: bytes, key_pair_id: str) -> CloudFrontSigner:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return CloudFrontSigner(key_pair_id, lambda message: key.sign(message, padding.PKCS1v15(), hashes.SHA1()))


def in_an_hour() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)


def test_signed_tenants_are_served_only_with_a_valid_signature(cdn: Cdn):
    (behavior,) = cdn.config()["signed_behaviors"]
    assert behavior["path_pattern"] == "/partners/media/*"
    key_pair_id = behavior["key_ids"][0]
    good = signer((EXAMPLE_KEYS / "partners-private-key.pem").read_bytes(), key_pair_id)
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    wrong_key = signer(other_key, key_pair_id)
    unknown_key = signer((EXAMPLE_KEYS / "partners-private-key.pem").read_bytes(), "K2UNKNOWNKEYID")
    url = f"{cdn.base}/partners/media/hopper.jpg?w=320"
    path = lambda u: u[len(cdn.base):]  # noqa: E731

    signed = good.generate_presigned_url(url, date_less_than=in_an_hour())
    r = cdn.get(path(signed))
    assert r.status == 200, r.body[:300]
    assert image_size(r.body)[0] == 320
    custom = good.generate_presigned_url(
        url, policy=good.build_policy(f"{cdn.base}/partners/media/*", in_an_hour())
    )
    assert cdn.get(path(custom)).status == 200

    expired = good.generate_presigned_url(url, date_less_than=datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc))
    refused = {
        "unsigned": path(url),
        "expired": path(expired),
        "wrong key": path(wrong_key.generate_presigned_url(url, date_less_than=in_an_hour())),
        "unknown key": path(unknown_key.generate_presigned_url(url, date_less_than=in_an_hour())),
        "tampered": path(signed).replace("w=320", "w=640"),
    }
    # Other spellings of the signed tenant's path, unsigned: none may reach an image.
    for spelling in (
        "/partners//media/hopper.jpg?w=320",
        "/partners/%6Dedia/hopper.jpg?w=320",
        "/shop/../partners/media/hopper.jpg?w=320",
        "/shop/%2E%2E/partners/media/hopper.jpg?w=320",
        "/Partners/media/hopper.jpg?w=320",
        "/partners/media//hopper.jpg?w=320",
        "//partners/media/hopper.jpg?w=320",
    ):
        refused[spelling] = spelling
    for name, p in refused.items():
        r = cdn.get(p)
        hops = 0
        while r.status in (301, 302) and hops < 3:
            r = cdn.get(r.headers["location"])
            hops += 1
        assert r.status in (400, 403, 404), f"{name}: {p} answered {r.status}"
        assert not r.headers.get("content-type", "").startswith("image/"), f"{name}: served an image"


# --- takedowns and overwrites -------------------------------------------------------

from conftest import FLUSH_EVERY_S, SETTLE_S, corpus  # noqa: E402

TAKEDOWN_VARIANTS = ["w=320", "preset=thumb", "w=640&fm=webp", "preset=card", "w=160&fm=png"]
# Settle delay + one invalidation window + the invalidation itself, and slack for the
# executions (each a few S3 calls) on a loaded 2-core machine.
TAKEDOWN_DEADLINE_S = SETTLE_S + 2 * FLUSH_EVERY_S + 1 + 20


def variants(cdn: Cdn, key: str) -> list:
    return [cdn.get(f"/{key}?{q}") for q in TAKEDOWN_VARIANTS]


def wait_for(what: str, check, deadline_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < deadline_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.25)
    raise AssertionError(f"{what}: not within {deadline_s} s")


def cached_everywhere(cdn: Cdn, key: str) -> None:
    """Every variant is served, then served again from the edge cache."""
    for r in variants(cdn, key):
        assert r.status == 200, r.body[:200]
    for r in variants(cdn, key):
        assert r.headers["x-imagecdn-layer"] == "edge"


def gone_from_every_layer(cdn: Cdn, key: str) -> bool:
    return all(r.status == 404 and not r.headers.get("content-type", "").startswith("image/") for r in variants(cdn, key))


def test_a_takedown_reaches_every_layer_within_one_window(cdn: Cdn):
    s3, bucket = cdn.s3()
    key = "shop/takedown.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=corpus("07_").read_bytes(), ContentType="image/jpeg")
    cached_everywhere(cdn, key)
    for round_ in ("delete", "delete after re-upload"):
        s3.delete_object(Bucket=bucket, Key=key)
        took = wait_for(f"{key} purged ({round_})", lambda: gone_from_every_layer(cdn, key), TAKEDOWN_DEADLINE_S)
        print(f"{round_}: the last layer stopped serving {key} {took:.1f} s after the delete")
        # And it stays gone: nothing comes back from a cache or the variants bucket.
        time.sleep(FLUSH_EVERY_S)
        assert gone_from_every_layer(cdn, key)
        if round_ == "delete":
            s3.put_object(Bucket=bucket, Key=key, Body=corpus("10_").read_bytes(), ContentType="image/png")
            # The re-upload's invalidation clears the cached 404s within a window.
            wait_for("re-uploaded image served", lambda: all(r.status == 200 for r in variants(cdn, key)), TAKEDOWN_DEADLINE_S)
            # The new pixels: 600x400 coffee, not the 512x600 portrait.
            assert image_size(cdn.get(f"/{key}?w=320").body) == (320, 213)
    failed = [e for e in cdn.executions() if e["status"] != "SUCCEEDED"]
    assert not failed, failed


def test_an_overwrite_serves_the_new_pixels_for_every_variant(cdn: Cdn):
    s3, bucket = cdn.s3()
    key = "shop/overwrite.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=corpus("07_").read_bytes(), ContentType="image/jpeg")
    cached_everywhere(cdn, key)
    old = {q: r.body for q, r in zip(TAKEDOWN_VARIANTS, variants(cdn, key))}
    assert image_size(old["w=320"]) == (320, 375)
    s3.put_object(Bucket=bucket, Key=key, Body=corpus("10_").read_bytes(), ContentType="image/png")

    def all_new() -> bool:
        replies = variants(cdn, key)
        return all(r.status == 200 and r.body != old[q] for q, r in zip(TAKEDOWN_VARIANTS, replies))

    took = wait_for("every variant shows the new pixels", all_new, TAKEDOWN_DEADLINE_S)
    print(f"overwrite: every variant new {took:.1f} s after the upload")
    assert image_size(cdn.get(f"/{key}?w=320").body) == (320, 213)


def test_the_cloudfront_api_keeps_callerreference_idempotency(cdn: Cdn):
    import boto3  # noqa: PLC0415

    config = cdn.config()
    cf = boto3.client(
        "cloudfront", endpoint_url=config["cloudfront_api"], region_name="us-east-1",
        aws_access_key_id="x", aws_secret_access_key="x",
    )
    distribution = config["distribution_id"]
    s3, bucket = cdn.s3()
    s3.put_object(Bucket=bucket, Key="shop/api.jpg", Body=corpus("07_").read_bytes(), ContentType="image/jpeg")
    assert cdn.get("/shop/api.jpg?w=320").status == 200
    assert cdn.get("/shop/api.jpg?w=320").headers["x-imagecdn-layer"] == "edge"
    batch = {"Paths": {"Quantity": 1, "Items": ["/shop/api.jpg"]}, "CallerReference": "system-test-1"}
    first = cf.create_invalidation(DistributionId=distribution, InvalidationBatch=batch)["Invalidation"]
    again = cf.create_invalidation(DistributionId=distribution, InvalidationBatch=batch)["Invalidation"]
    assert again["Id"] == first["Id"]
    assert cdn.get("/shop/api.jpg?w=320").headers["x-imagecdn-layer"] == "origin", "the invalidation emptied both layers"
    other = {"Paths": {"Quantity": 1, "Items": ["/shop/other.jpg"]}, "CallerReference": "system-test-1"}
    # Documented (InvalidationBatch.CallerReference), though not modelled by the SDKs.
    try:
        cf.create_invalidation(DistributionId=distribution, InvalidationBatch=other)
        raise AssertionError("a reused CallerReference with other paths was accepted")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "InvalidationBatchAlreadyExists", e.response
    got = cf.get_invalidation(DistributionId=distribution, Id=first["Id"])["Invalidation"]
    assert got["InvalidationBatch"]["Paths"]["Items"] == ["/shop/api.jpg"]
    listed = cf.list_invalidations(DistributionId=distribution)["InvalidationList"]
    assert first["Id"] in [i["Id"] for i in listed.get("Items", [])]
    wait_for("Completed", lambda: cf.get_invalidation(DistributionId=distribution, Id=first["Id"])["Invalidation"]["Status"] == "Completed", 10)
    try:
        cf.get_invalidation(DistributionId="ENOSUCHDIST", Id=first["Id"])
        raise AssertionError("an unknown distribution answered")
    except cf.exceptions.NoSuchDistribution:
        pass


# --- WAF: rate limit and hotlink protection -----------------------------------------

import yaml  # noqa: E402

from conftest import REPO_ROOT  # noqa: E402

CLAIM = yaml.safe_load((REPO_ROOT / "examples" / "complete.yaml").read_text())


def waf_rule(r) -> str | None:
    return r.headers.get("x-imagecdn-dev-waf-rule") if r.status == 403 else None


def test_hotlink_rules_block_what_the_claim_says_and_only_that(cdn: Cdn):
    shop = "/shop/hopper.jpg?w=320"
    allowed = {
        "the tenant's own site": "https://shop.example.com/product/1",
        "a subdomain of it": "https://m.shop.example.com/",
        "with a port": "http://shop.example.com:8080/x",
    }
    for name, referer in allowed.items():
        r = cdn.get(shop, headers={"Referer": referer})
        assert r.status == 200, (name, r.status, r.body[:120])
    assert CLAIM["spec"]["waf"]["allowEmptyReferer"] is True
    assert cdn.get(shop).status == 200, "no Referer is allowed (allowEmptyReferer)"
    blocked = {
        "another site": ("https://evil.test/", shop),
        "the WAF-wide list is not the tenant's": ("https://example.com/", shop),
        "a look-alike domain": ("https://shop.example.com.evil.test/", shop),
        "a repeated slash": ("https://evil.test/", "/shop//hopper.jpg?w=320"),
        "an encoded segment": ("https://evil.test/", "/%73hop/hopper.jpg?w=320"),
        "a dot segment": ("https://evil.test/", "/x/../shop/hopper.jpg?w=320"),
    }
    for name, (referer, path) in blocked.items():
        r = cdn.get(path, headers={"Referer": referer})
        assert waf_rule(r) == "hotlink-shop", (name, r.status, r.headers)

    # The signed tenant has no referer list of its own: the WAF-wide one applies.
    (behavior,) = cdn.config()["signed_behaviors"]
    good = signer((EXAMPLE_KEYS / "partners-private-key.pem").read_bytes(), behavior["key_ids"][0])
    signed = good.generate_presigned_url(f"{cdn.base}/partners/media/hopper.jpg?w=160", date_less_than=in_an_hour())
    path = signed[len(cdn.base):]
    assert cdn.get(path, headers={"Referer": "https://www.example.com/"}).status == 200
    assert waf_rule(cdn.get(path, headers={"Referer": "https://evil.test/"})) == "hotlink"


def test_the_rate_limit_blocks_one_ip_at_the_claims_limit(cdn: Cdn):
    limit = CLAIM["spec"]["waf"]["rateLimit"]
    path = "/shop/hopper.jpg?w=160"
    assert cdn.get(path).status == 200
    noisy = {"X-Imagecdn-Dev-Viewer-Ip": "203.0.113.77"}
    before = cdn.stats()

    def one(_):
        return cdn.get(path, headers=noisy).status

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(limit)))
    assert statuses.count(200) == limit, "every request up to the limit is served"
    r = cdn.get(path, headers=noisy)
    assert waf_rule(r) == "rate-limit-per-ip"
    # Only that IP: another viewer is served.
    assert cdn.get(path, headers={"X-Imagecdn-Dev-Viewer-Ip": "203.0.113.78"}).status == 200
    assert delta(before, cdn.stats(), "waf_blocked") == 1


# --- the page ------------------------------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
from pathlib import Path  # noqa: E402


def test_the_page_builds_urls_with_a_live_preview_in_chromium(cdn: Cdn, tmp_path):
    browser_npm = os.environ.get("IMAGECDN_BROWSER_NPM")
    assert browser_npm and Path(browser_npm, "playwright-core").is_dir(), "IMAGECDN_BROWSER_NPM must hold playwright-core"
    shots = Path(os.environ.get("IMAGECDN_ARTIFACTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(
        ["node", str(Path(__file__).with_name("page.js")), cdn.base, str(shots)],
        capture_output=True, text=True, timeout=180, env={**os.environ, "NODE_PATH": browser_npm},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    print(f"screenshot: {shots / 'imagecdn-dev-page.png'}")
    keys = {o["key"]: o["signed"] for o in out["originals"]}
    assert keys["shop/hopper.jpg"] is False
    assert keys["partners/media/hopper.jpg"] is True, "the signed tenant's originals are marked"
    assert out["presets"] == ["card", "hero", "thumb"]
    first, again, preset = out["first"], out["again"], out["preset"]
    assert first["url"] == "/shop/hopper.jpg?w=480&fm=webp"
    assert first["key"] == "/shop/hopper.jpg?fm=webp&w=480", "the canonical cache key"
    assert first["status"].startswith("200") and first["type"].startswith("image/webp")
    assert (first["width"], first["height"]) == (480, 563)
    assert "cdn-total" in first["timing"]
    assert again["cache"] == "Hit from cloudfront" and again["key"] == first["key"]
    assert preset["key"] == "/shop/hopper.jpg?fm=webp&h=200&q=70&w=200"
    assert (preset["width"], preset["height"]) == (200, 200)
    assert out["errors"] == []
    assert (shots / "imagecdn-dev-page.png").stat().st_size > 10_000
