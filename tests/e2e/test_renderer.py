"""The regional renderer (the real `bootstrap` binary) through a Lambda Runtime API,
against moto's S3 and CloudFront servers, with Step Functions-shaped payloads: preset
rendering for every corpus format, idempotency, hostile input, the takedown flow
(purge, flush, CreateInvalidation, ack) with nothing lost, overwrites, repeated
takedowns, concurrent executions, and the error names the state machine retries."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO_ROOT, render_full_graph
from lambda_harness import MotoServer, RuntimeApi, start_function, stop

CORPUS = Path(os.environ.get("IMAGECDN_CORPUS_DIR", REPO_ROOT.parent / "shared" / "corpus"))
ORIGINALS = "media-originals-us-east-1"
VARIANTS = "media-variants-us-east-1"
PRESETS = [
    {"name": "thumb", "query": "fm=webp&h=200&q=70&w=200"},
    {"name": "card", "query": "fit=contain&h=360&w=640"},
    {"name": "small-jpeg", "query": "fm=jpeg&w=320"},
    {"name": "hero-avif", "query": "fm=avif&w=480"},
    {"name": "png", "query": "fm=png&w=240"},
]


@pytest.fixture(scope="module")
def renderer_bin():
    value = os.environ.get("IMAGECDN_RENDERER_BIN")
    if not value or not Path(value).exists():
        pytest.fail("IMAGECDN_RENDERER_BIN must point at the built renderer bootstrap", pytrace=False)
    return Path(value)


@pytest.fixture(scope="module")
def moto():
    server = MotoServer(Path(sys.executable).parent / "moto_server")
    s3 = server.client("s3")
    for bucket in (ORIGINALS, VARIANTS):
        s3.create_bucket(Bucket=bucket)
    # As the composition makes it: originals are versioned.
    s3.put_bucket_versioning(Bucket=ORIGINALS, VersioningConfiguration={"Status": "Enabled"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def distribution_id(moto):
    return moto.create_distribution(ORIGINALS, "imagecdn-test")


def renderer_env(endpoint: str, distribution_id: str, **extra: str) -> dict[str, str]:
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "IMAGECDN_S3_FORCE_PATH_STYLE": "true",
        "IMAGECDN_ORIGINALS_BUCKET": ORIGINALS,
        "IMAGECDN_VARIANTS_BUCKET": VARIANTS,
        "IMAGECDN_DISTRIBUTION_ID": distribution_id,
        "IMAGECDN_TENANT_PREFIXES": "shop,partners/media",
        "IMAGECDN_MAX_SOURCE_MEGAPIXELS": "50",
        "IMAGECDN_MAX_SOURCE_MEGABYTES": "40",
        "IMAGECDN_DEFAULT_QUALITY": "80",
        # Takedowns are invalidated at once here; the settle delay has its own test.
        "IMAGECDN_TAKEDOWN_SETTLE_SECONDS": "0",
        **extra,
    }


@pytest.fixture(scope="module")
def renderer(renderer_bin, moto, distribution_id):
    """Three renderer processes on one Runtime API: concurrent invocations run at once."""
    runtime = RuntimeApi()
    procs = [start_function(renderer_bin, runtime, renderer_env(moto.endpoint, distribution_id)) for _ in range(3)]
    yield runtime
    for proc in procs:
        stop(proc)
    output = procs[0].stdout.read().decode(errors="replace") if procs[0].stdout else ""
    runtime.close()
    print(output[-4000:])


def upload(moto, key: str, path: Path):
    moto.client("s3").put_object(Bucket=ORIGINALS, Key=key, Body=path.read_bytes())


def render(renderer, key, presets=PRESETS):
    kind, body = renderer.invoke({"action": "render", "bucket": ORIGINALS, "key": key, "presets": presets})
    assert kind == "response", body
    return body


def variant(moto, key: str) -> Image.Image:
    data = moto.client("s3").get_object(Bucket=VARIANTS, Key=key)["Body"].read()
    return Image.open(io.BytesIO(data))


CORPUS_FILES = [
    "02_large_seeding_5312x2988_baseline420.jpg",
    "03_large_seeding_5312x2988_progressive420.jpg",
    "04_medium_path_2560x1600_icc444.jpg",
    "05_exif_orientation6_friends_3088x2048.jpg",
    "06_gray_grey_2560x1600.jpg",
    "07_small_grace_hopper_512x600.jpg",
    "08_alpha_figplate_1600x1082.png",
    "09_webp_picosdeeuropa_3264x2448_q80.webp",
    "10_png_coffee_600x400.png",
]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_presets_render_for_every_corpus_format(moto, renderer, name):
    key = f"shop/corpus/{name}"
    upload(moto, key, CORPUS / name)
    report = render(renderer, key)
    assert report["failed"] == 0, report
    assert report["rendered"] == len(PRESETS)
    by_name = {r["preset"]: r for r in report["results"]}
    thumb = variant(moto, by_name["thumb"]["variantKey"])
    assert thumb.format == "WEBP" and thumb.size == (200, 200)
    card = variant(moto, by_name["card"]["variantKey"])
    assert card.size == (640, 360)  # contain: letterboxed to the box
    small = variant(moto, by_name["small-jpeg"]["variantKey"])
    assert small.format == "JPEG" and small.size[0] == 320
    avif = variant(moto, by_name["hero-avif"]["variantKey"])
    assert avif.format == "AVIF" and avif.size[0] == 480
    png = variant(moto, by_name["png"]["variantKey"])
    assert png.format == "PNG" and png.size[0] == 240
    if name.startswith("05_"):
        # EXIF orientation 6: displayed portrait, so 320 wide is taller than wide.
        assert small.size[1] > small.size[0]
    head = moto.client("s3").head_object(Bucket=VARIANTS, Key=by_name["thumb"]["variantKey"])
    assert head["ContentType"] == "image/webp"


def test_rendering_is_idempotent(moto, renderer):
    key = "shop/idempotent/a.jpg"
    upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
    first = render(renderer, key)
    again = render(renderer, key)
    assert first["rendered"] == len(PRESETS)
    assert again["rendered"] == 0 and again["existing"] == len(PRESETS)


def test_hostile_inputs_fail_cleanly(moto, renderer):
    for name, status in [("11_malformed_truncated_5312x2988.jpg", 422), ("12_bomb_20000x20000_1bit_palette.png", 413)]:
        key = f"shop/hostile/{name}"
        upload(moto, key, CORPUS / name)
        report = render(renderer, key, PRESETS[:1])
        result = report["results"][0]
        assert result["status"] == "failed" and result["httpStatus"] == status, result
        assert not moto.client("s3").list_objects_v2(Bucket=VARIANTS, Prefix=f"v/shop%2Fhostile%2F{name}").get("Contents")
    kind, body = renderer.invoke({"action": "render", "bucket": "someone-elses-bucket", "key": "shop/a.jpg", "presets": PRESETS})
    assert kind == "error" and "not this CDN's originals bucket" in json.dumps(body)
    assert body["errorType"] == "ImageCDN.Refused"
    kind, body = renderer.invoke({"action": "render", "bucket": ORIGINALS, "key": "blog/../shop/a.jpg", "presets": PRESETS})
    assert kind == "error" and "outside every tenant prefix" in json.dumps(body)
    kind, body = renderer.invoke({"action": "render", "bucket": ORIGINALS, "key": "shop/a.jpg", "url": "http://169.254.169.254/"})
    assert kind == "error" and body["errorType"] == "ImageCDN.BadEvent", body
    # Deleted before its upload event was handled: nothing to do, not a failure (the
    # delete event purges).
    report = render(renderer, "shop/missing.jpg")
    assert report["missing"] is True and report["rendered"] == 0 and report["failed"] == 0


def test_variants_carry_real_http_headers(moto, renderer):
    """Large variants are served from the variants bucket as S3 stores them: the
    Cache-Control and Content-Type must be the object's own headers, not x-amz-meta-*."""
    key = "shop/headers/a.jpg"
    upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
    report = render(renderer, key, PRESETS[:1])
    vkey = report["results"][0]["variantKey"]
    # A plain HTTP GET (presigned: moto refuses anonymous reads), as CloudFront makes it.
    url = moto.client("s3").generate_presigned_url("get_object", Params={"Bucket": VARIANTS, "Key": vkey}, ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as rsp:
        assert rsp.headers["Cache-Control"] == "public, max-age=31536000"
        assert rsp.headers["Content-Type"] == "image/webp"
        assert "x-amz-meta-cache-control" not in {k.lower() for k in rsp.headers}
        assert rsp.headers["x-amz-meta-source-etag"]


def test_takedown_purges_variants_and_batches_the_invalidation(moto, renderer):
    s3 = moto.client("s3")
    keys = [f"shop/takedown/{i}.jpg" for i in range(3)]
    for k in keys:
        upload(moto, k, CORPUS / "07_small_grace_hopper_512x600.jpg")
        assert render(renderer, k)["rendered"] == len(PRESETS)
    survivor = "shop/takedown/survivor.jpg"
    upload(moto, survivor, CORPUS / "07_small_grace_hopper_512x600.jpg")
    render(renderer, survivor)

    for k in keys:
        s3.delete_object(Bucket=ORIGINALS, Key=k)
        kind, body = renderer.invoke({"action": "purge", "key": k})
        assert kind == "response" and body["deleted"] == len(PRESETS), body
        assert body["queued"], body
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=VARIANTS, Prefix="v/").get("Contents", [])]
    assert not any("takedown%2F0" in x or "takedown%2F1" in x or "takedown%2F2" in x for x in listed)
    assert any("survivor" in x for x in listed), "other originals' variants are untouched"

    kind, flushed = renderer.invoke({"action": "flush"})
    assert kind == "response" and flushed["empty"] is False, flushed
    paths = flushed["batch"]["Paths"]["Items"]
    # Five variants each: one wildcard plus the untransformed path is cheaper.
    assert sorted(paths) == sorted([f"/{k}" for k in keys] + [f"/{k}?*" for k in keys])
    assert flushed["batch"]["Paths"]["Quantity"] == len(paths)

    # What the state machine does next: CreateInvalidation, then ack with its ID.
    cf = moto.client("cloudfront")
    dist = cf.list_distributions()["DistributionList"]["Items"][0]["Id"]
    inv = cf.create_invalidation(DistributionId=dist, InvalidationBatch=flushed["batch"])
    kind, acked = renderer.invoke({"action": "ack", "markers": flushed["markers"], "invalidationId": inv["Invalidation"]["Id"]})
    assert kind == "response" and acked["acknowledged"] == 1

    # The queue is empty now, and the next window sends nothing.
    pending = s3.list_objects_v2(Bucket=VARIANTS, Prefix="_invalidations/pending/").get("KeyCount", 0)
    assert pending == 0
    kind, again = renderer.invoke({"action": "flush"})
    assert kind == "response" and again["empty"] is True, again


def flush_and_invalidate(moto, renderer) -> dict:
    """One flush window as the state machine runs it: flush, CreateInvalidation, ack.
    The in-flight marker's entries (the queue entries the batch consumed) are read back
    into the result as `consumed`."""
    kind, flushed = renderer.invoke({"action": "flush"})
    assert kind == "response", flushed
    if flushed["empty"]:
        return flushed
    marker = moto.client("s3").get_object(Bucket=VARIANTS, Key=flushed["markers"][0])["Body"].read()
    flushed["consumed"] = json.loads(marker)["entries"]
    cf = moto.client("cloudfront")
    dist = cf.list_distributions()["DistributionList"]["Items"][0]["Id"]
    inv = cf.create_invalidation(DistributionId=dist, InvalidationBatch=flushed["batch"])
    kind, acked = renderer.invoke({"action": "ack", "markers": flushed["markers"], "invalidationId": inv["Invalidation"]["Id"]})
    assert kind == "response", acked
    return flushed


def drain_flushes(moto, renderer) -> list[dict]:
    """Flush windows until the queue is empty; the non-empty flush responses."""
    flushes = []
    for _ in range(20):
        flushed = flush_and_invalidate(moto, renderer)
        if flushed["empty"]:
            return flushes
        flushes.append(flushed)
    raise AssertionError("the queue did not drain")


def drain(moto, renderer) -> list[dict]:
    return [f["batch"] for f in drain_flushes(moto, renderer)]


def variant_keys(moto, original: str) -> list[str]:
    prefix = "v/" + urllib.request.quote(original, safe="") + "/"
    return [o["Key"] for o in moto.client("s3").list_objects_v2(Bucket=VARIANTS, Prefix=prefix).get("Contents", [])]


def store_on_demand_variant(moto, original: str, query: str, source_etag: str):
    """What the edge stores for a request it rendered on demand."""
    key = "v/" + urllib.request.quote(original, safe="") + "/" + query
    moto.client("s3").put_object(Bucket=VARIANTS, Key=key, Body=b"old pixels", ContentType="image/jpeg",
                                 CacheControl="public, max-age=31536000", Metadata={"source-etag": source_etag})
    return key


def test_overwrite_drops_every_old_variant_and_invalidates_them(moto, renderer):
    s3 = moto.client("s3")
    key = "shop/overwrite/a.jpg"
    upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
    first = render(renderer, key, PRESETS[:1])
    assert first["invalidationQueued"] is False, "a first upload invalidates nothing"
    old_etag = s3.head_object(Bucket=ORIGINALS, Key=key)["ETag"]
    on_demand = store_on_demand_variant(moto, key, "w=333", old_etag)
    drain(moto, renderer)

    upload(moto, key, CORPUS / "10_png_coffee_600x400.png")  # a new version of the original
    report = render(renderer, key, PRESETS[:1])
    assert report["rendered"] == 1 and report["staleDeleted"] == 2, report
    assert report["invalidationQueued"] is True
    remaining = variant_keys(moto, key)
    assert on_demand not in remaining, "the on-demand variant of the old version is gone"
    thumb = variant(moto, report["results"][0]["variantKey"])
    assert thumb.size == (200, 200)
    new_etag = s3.head_object(Bucket=ORIGINALS, Key=key)["ETag"]
    meta = s3.head_object(Bucket=VARIANTS, Key=report["results"][0]["variantKey"])["Metadata"]
    assert meta["source-etag"] == new_etag
    # The CDN drops the original itself and both old variants.
    paths = [p for b in drain(moto, renderer) for p in b["Paths"]["Items"]]
    assert "/shop/overwrite/a.jpg" in paths
    assert "/shop/overwrite/a.jpg?*" in paths or {"/shop/overwrite/a.jpg?w=333", "/shop/overwrite/a.jpg?fm=webp&h=200&q=70&w=200"} <= set(paths)


def test_overwrite_without_presets_still_invalidates(moto, renderer):
    key = "shop/overwrite/no-presets.jpg"
    upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
    render(renderer, key, [])
    drain(moto, renderer)
    upload(moto, key, CORPUS / "04_medium_path_2560x1600_icc444.jpg")
    report = render(renderer, key, [])
    assert report["invalidationQueued"] is True, report
    paths = [p for b in drain(moto, renderer) for p in b["Paths"]["Items"]]
    assert "/shop/overwrite/no-presets.jpg" in paths


def test_repeated_takedown_gets_a_new_caller_reference(moto, renderer):
    """CloudFront answers a repeated CallerReference with the earlier invalidation, so
    a second takedown of the same original must not reuse the first one's."""
    key = "shop/repeat/a.jpg"
    cf = moto.client("cloudfront")
    dist = cf.list_distributions()["DistributionList"]["Items"][0]["Id"]
    references, paths = [], []
    for _ in range(2):
        upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
        render(renderer, key, PRESETS[:1])
        moto.client("s3").delete_object(Bucket=ORIGINALS, Key=key)
        kind, body = renderer.invoke({"action": "purge", "key": key})
        assert kind == "response" and body["queued"], body
        batches = drain(moto, renderer)
        assert len(batches) == 1
        references.append(batches[0]["CallerReference"])
        paths.append(sorted(batches[0]["Paths"]["Items"]))
    assert paths[0] == paths[1], "the same paths both times"
    assert references[0] != references[1], references
    listed = cf.list_invalidations(DistributionId=dist)["InvalidationList"]["Items"]
    refs = {cf.get_invalidation(DistributionId=dist, Id=i["Id"])["Invalidation"]["InvalidationBatch"]["CallerReference"] for i in listed}
    assert set(references) <= refs


def test_concurrent_takedowns_and_flushes_lose_nothing(moto, renderer):
    """Purges (each one a queued entry) race flushes on three renderer processes: every
    entry ends up in a batch whose paths cover its original."""
    originals = [f"shop/race/{i}.jpg" for i in range(4)]
    s3 = moto.client("s3")
    drain(moto, renderer)
    queued: list[tuple[str, str]] = []
    batched = []
    errors = []
    done = threading.Event()

    def purger(original):
        try:
            for _ in range(5):
                upload(moto, original, CORPUS / "07_small_grace_hopper_512x600.jpg")
                s3.delete_object(Bucket=ORIGINALS, Key=original)
                kind, body = renderer.invoke({"action": "purge", "key": original})
                assert kind == "response" and body["queued"], body
                queued.append((original, body["queued"]))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    def flusher():
        try:
            while not done.is_set():
                started = time.monotonic()
                flushed = flush_and_invalidate(moto, renderer)
                if not flushed["empty"]:
                    batched.append((started, flushed))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=purger, args=(o,)) for o in originals] + [threading.Thread(target=flusher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads[: len(originals)]:
        t.join(timeout=120)
    done.set()
    for t in threads[len(originals):]:
        t.join(timeout=120)
    assert not errors, errors
    batched += [(time.monotonic(), f) for f in drain_flushes(moto, renderer)]
    assert s3.list_objects_v2(Bucket=VARIANTS, Prefix="_invalidations/pending/").get("KeyCount", 0) == 0
    # Every queued entry was consumed by a batch (two flushes racing may both batch an
    # entry, under the same caller reference when they took the same set: CloudFront
    # answers the second with the first invalidation); none was dropped.
    consumed = {e for _, f in batched for e in f["consumed"]}
    assert len(queued) == 20
    missing = [(o, key) for o, key in queued if key not in consumed]
    assert not missing, missing
    for _, f in batched:
        paths = f["batch"]["Paths"]["Items"]
        assert f["entries"] == len(f["consumed"])
        assert all(f"/{o}" in paths for o, key in queued if key in f["consumed"])


def test_takedowns_wait_until_edge_transforms_in_flight_are_over(renderer_bin, moto, distribution_id):
    """An entry is invalidated only once it is older than the settle delay; meanwhile a
    variant an in-flight edge transform stored after the purge is swept with it."""
    runtime = RuntimeApi()
    proc = start_function(renderer_bin, runtime, renderer_env(moto.endpoint, distribution_id, IMAGECDN_TAKEDOWN_SETTLE_SECONDS="3"))
    try:
        drain(moto, runtime)
        key = "shop/settle/a.jpg"
        upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
        etag = moto.client("s3").head_object(Bucket=ORIGINALS, Key=key)["ETag"]
        moto.client("s3").delete_object(Bucket=ORIGINALS, Key=key)
        kind, body = runtime.invoke({"action": "purge", "key": key})
        assert kind == "response" and body["queued"]
        late = store_on_demand_variant(moto, key, "w=444", etag)  # the in-flight transform stores
        kind, early = runtime.invoke({"action": "flush"})
        assert kind == "response" and early["empty"] is True and early["waiting"] == 1, early
        time.sleep(3.5)
        batches = drain(moto, runtime)
        paths = [p for b in batches for p in b["Paths"]["Items"]]
        assert "/shop/settle/a.jpg" in paths and ("/shop/settle/a.jpg?w=444" in paths or "/shop/settle/a.jpg?*" in paths), paths
        assert late not in variant_keys(moto, key), "the late variant is swept"
    finally:
        stop(proc)
        runtime.close()


def test_storage_failures_are_named_for_the_state_machines_retry(renderer_bin, function_bin, distribution_id):
    """With S3 gone (a stopped server) or hanging (accepting connections, never
    answering), every action fails as `ImageCDN.Transient`, which the generated state
    machine retries on every renderer call."""
    definition = json.loads(render_full_graph(function_bin, REPO_ROOT / "examples/complete.yaml")["pipeline"]["spec"]["forProvider"]["definition"])
    for name, state in definition["States"].items():
        if state.get("Resource") == "arn:aws:states:::lambda:invoke":
            retried = {e for r in state["Retry"] for e in r["ErrorEquals"]}
            assert "ImageCDN.Transient" in retried, name

    import socket
    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(64)
    hanging = f"http://127.0.0.1:{blackhole.getsockname()[1]}"
    stopped = MotoServer(Path(sys.executable).parent / "moto_server")
    stopped_endpoint = stopped.endpoint
    stopped.stop()
    try:
        for endpoint in (stopped_endpoint, hanging):
            runtime = RuntimeApi()
            proc = start_function(renderer_bin, runtime, renderer_env(endpoint, distribution_id, IMAGECDN_S3_ATTEMPT_TIMEOUT_SECONDS="1"))
            try:
                for event in ({"action": "render", "bucket": ORIGINALS, "key": "shop/a.jpg", "presets": PRESETS},
                              {"action": "purge", "key": "shop/a.jpg"}, {"action": "flush"}):
                    started = time.monotonic()
                    kind, body = runtime.invoke(event, timeout=60)
                    assert kind == "error" and body["errorType"] == "ImageCDN.Transient", (endpoint, event, body)
                    assert time.monotonic() - started < 30, "a hanging S3 fails the attempt, not the Lambda"
            finally:
                stop(proc)
                runtime.close()
    finally:
        blackhole.close()


def test_variants_the_edge_answered_with_a_stand_in_are_rendered(moto, renderer):
    """The edge answers AVIF too costly for it with a WebP stand-in and leaves
    `_render/<sha256 of the variant key>.json` = {originalKey, query} (as
    lambda/edge/js/index.js writes it); the scheduled `renders` action renders the real
    variant from the current original and removes each request."""
    import hashlib
    s3 = moto.client("s3")
    key = "shop/heavy/a.jpg"
    upload(moto, key, CORPUS / "04_medium_path_2560x1600_icc444.jpg")
    query = "fm=avif&w=2400"
    vkey = "v/" + urllib.request.quote(key, safe="") + "/" + query
    requests = {
        hashlib.sha256(vkey.encode()).hexdigest(): {"originalKey": key, "query": query},
        "bad-prefix": {"originalKey": "blog/a.jpg", "query": "w=1"},
        "bad-query": {"originalKey": key, "query": "w=0400"},
        "gone": {"originalKey": "shop/heavy/gone.jpg", "query": "w=10"},
    }
    for name, body in requests.items():
        s3.put_object(Bucket=VARIANTS, Key=f"_render/{name}.json", Body=json.dumps(body).encode())
    s3.put_object(Bucket=VARIANTS, Key="_render/junk.json", Body=b"{not json")
    kind, out = renderer.invoke({"action": "renders"})
    assert kind == "response", out
    assert out == {"rendered": 1, "failed": 0, "dropped": 4, "left": 0}, out
    head = s3.head_object(Bucket=VARIANTS, Key=vkey)
    assert head["ContentType"] == "image/avif" and head["CacheControl"] == "public, max-age=31536000"
    assert head["Metadata"]["source-etag"] == s3.head_object(Bucket=ORIGINALS, Key=key)["ETag"]
    assert variant(moto, vkey).size == (2400, 1500)
    assert s3.list_objects_v2(Bucket=VARIANTS, Prefix="_render/").get("KeyCount", 0) == 0


def test_adobe_cmyk_jpeg_from_pillow_renders_in_the_right_colours(moto, renderer, tmp_path):
    """A CMYK JPEG as Pillow (libjpeg) writes it: Adobe marker, transform 0, inverted
    ink values. Red ink must come out red (an uninverted or unconverted decode gives
    cyan or black)."""
    src = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (96, 64), (0, 255, 255, 0)).save(src, quality=95)
    data = src.read_bytes()
    at = data.find(b"\xff\xee")
    assert at >= 0 and data[at + 15] == 0, "an Adobe CMYK JPEG (transform 0)"
    key = "shop/cmyk/red.jpg"
    upload(moto, key, src)
    report = render(renderer, key, [{"name": "png", "query": "fm=png&w=48"}])
    assert report["rendered"] == 1, report
    png = variant(moto, report["results"][0]["variantKey"]).convert("RGB")
    assert png.size == (48, 32)
    r, g, b = png.getpixel((24, 16))
    assert r > 200 and g < 60 and b < 60, (r, g, b)
