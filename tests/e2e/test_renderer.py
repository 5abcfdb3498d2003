"""The regional renderer (the real `bootstrap` binary) through a Lambda Runtime API,
against moto's S3 and CloudFront servers, with Step Functions-shaped payloads: preset
rendering for every corpus format, idempotency, hostile input, and the takedown flow
(purge, flush, CreateInvalidation, ack) with nothing lost."""

from __future__ import annotations

import io
import json
import os
import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import REPO_ROOT
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
    yield server
    server.stop()


@pytest.fixture(scope="module")
def distribution_id(moto):
    return moto.create_distribution(ORIGINALS, "imagecdn-test")


@pytest.fixture(scope="module")
def renderer(renderer_bin, moto, distribution_id):
    runtime = RuntimeApi()
    proc = start_function(renderer_bin, runtime, {
        "AWS_ENDPOINT_URL": moto.endpoint,
        "IMAGECDN_S3_FORCE_PATH_STYLE": "true",
        "IMAGECDN_ORIGINALS_BUCKET": ORIGINALS,
        "IMAGECDN_VARIANTS_BUCKET": VARIANTS,
        "IMAGECDN_DISTRIBUTION_ID": distribution_id,
        "IMAGECDN_TENANT_PREFIXES": "shop,partners/media",
        "IMAGECDN_MAX_SOURCE_MEGAPIXELS": "50",
        "IMAGECDN_MAX_SOURCE_MEGABYTES": "40",
        "IMAGECDN_DEFAULT_QUALITY": "80",
    })
    yield runtime
    stop(proc)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
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
    for name, status in [("11_malformed_truncated_5312x2988.jpg", {422}), ("12_bomb_20000x20000_1bit_palette.png", {413})]:
        key = f"shop/hostile/{name}"
        upload(moto, key, CORPUS / name)
        report = render(renderer, key, PRESETS[:1])
        result = report["results"][0]
        if result["status"] == "failed":
            assert result["httpStatus"] in status, result
        else:
            # A truncated JPEG may be documented as a partial image instead.
            assert name.startswith("11_"), result
    kind, body = renderer.invoke({"action": "render", "bucket": "someone-elses-bucket", "key": "shop/a.jpg", "presets": PRESETS})
    assert kind == "error" and "not this CDN's originals bucket" in json.dumps(body)
    kind, body = renderer.invoke({"action": "render", "bucket": ORIGINALS, "key": "blog/../shop/a.jpg", "presets": PRESETS})
    assert kind == "error" and "outside every tenant prefix" in json.dumps(body)
    kind, body = renderer.invoke({"action": "render", "bucket": ORIGINALS, "key": "shop/missing.jpg", "presets": PRESETS})
    assert kind == "error" and "not found" in json.dumps(body)


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


def test_reupload_refreshes_stale_variants_and_queues_invalidation(moto, renderer):
    s3 = moto.client("s3")
    key = "shop/reupload/a.jpg"
    upload(moto, key, CORPUS / "07_small_grace_hopper_512x600.jpg")
    render(renderer, key, PRESETS[:1])
    upload(moto, key, CORPUS / "10_png_coffee_600x400.png")  # a new version of the original
    report = render(renderer, key, PRESETS[:1])
    assert report["rendered"] == 1, report
    marker = s3.list_objects_v2(Bucket=VARIANTS, Prefix="_invalidations/pending/shop%2Freupload").get("Contents", [])
    assert marker, "the old variant must be invalidated at the edge"
