"""The whole emulated delivery path, measured: see bench/system.sh (which starts the local
CDN and calls this with its base URL).

    python bench/system.py BASE_URL CORPUS_DIR [--requests 100000] [--originals 1000]

Prints a Markdown table. Stdlib and boto3 (the test peers' venv) only.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config


VIEWERS = random.Random(1)


def viewer_ip() -> str:
    """Requests come from many viewers, as in production: the claim's WAF limits each IP
    to its rate (3,000 per 5 minutes in the complete example)."""
    return f"10.{VIEWERS.randrange(256)}.{VIEWERS.randrange(256)}.{VIEWERS.randrange(1, 255)}"


def get(url: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    headers = {"X-Imagecdn-Dev-Viewer-Ip": viewer_ip(), **(headers or {})}
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as rsp:
            return rsp.status, dict(rsp.headers.items()), rsp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
        # Counted as an error by the caller (status 0), never a crash of the benchmark.
        return 0, {"x-bench-error": repr(e)}, b""


def stats(base: str) -> dict:
    return json.loads(get(f"{base}/_imagecdn/stats")[2])


def s3_client(base: str):
    config = json.loads(get(f"{base}/_imagecdn/config")[2])
    primary = next(r for r in config["regions"] if r["primary"])
    client = boto3.client(
        "s3", endpoint_url=primary["s3_endpoint"], region_name=primary["region"],
        aws_access_key_id="bench", aws_secret_access_key="bench",
        config=Config(s3={"addressing_style": "path"}, max_pool_connections=16),
    )
    return client, primary["originals_bucket"], config


def corpus(dir_: Path, prefix: str) -> Path:
    return next(p for p in dir_.iterdir() if p.name.startswith(prefix))


def hits(base: str, seconds: int) -> dict:
    """wrk against one cached variant: requests/s and latency percentiles."""
    url = f"{base}/shop/bench-hit.jpg?w=320"
    assert get(url)[0] == 200 and get(url)[0] == 200
    if shutil.which("wrk") is None:
        raise SystemExit("wrk not found (bench/system.sh installs Debian's wrk)")
    # Each request from another viewer IP (the WAF's rate limit is per IP).
    script = Path(tempfile.mkdtemp()) / "viewers.lua"
    script.write_text(
        "local n = 0\n"
        "request = function()\n"
        "  n = n + 1\n"
        "  local ip = string.format('10.%d.%d.%d', math.random(0, 255), math.random(0, 255), n % 250 + 1)\n"
        "  return wrk.format('GET', nil, {['X-Imagecdn-Dev-Viewer-Ip'] = ip})\n"
        "end\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p: str) -> str:
        return re.search(rf"\s{p}%\s+([\d.]+\w+)", out).group(1)

    return {"rps": rps, "p50": pct("50"), "p99": pct("99")}


def misses(base: str, fmt: str, count: int) -> dict:
    """Distinct new variants of one photo, one at a time: each a full miss."""
    durations = []
    # Widths snap to the claim's ladder and PNG has no quality: distinct variants are
    # ladder widths (and, for lossy formats, qualities).
    ladder = [160, 200, 320, 480, 640, 960, 1280, 1920]
    count = min(count, len(ladder)) if fmt == "png" else count
    for i in range(count):
        quality = "" if fmt == "png" else f"&q={40 + i}"
        url = f"{base}/shop/bench-miss.jpg?w={ladder[i % len(ladder)]}&fm={fmt}{quality}"
        t0 = time.perf_counter()
        status, headers, _ = get(url)
        durations.append(time.perf_counter() - t0)
        assert status == 200, (url, status)
        assert headers.get("x-imagecdn-layer") == "origin", (url, headers)
    return {
        "per_s": len(durations) / sum(durations),
        "p50_ms": statistics.median(durations) * 1000,
    }


WIDTHS = [160, 200, 320, 480, 640, 960, 1280]
JUNK = ["utm_source=newsletter", "utm_medium=email", "fbclid=IwAR0x", "gclid=Cj0KCQ", "ref=home", "_=1733040000"]


def zipf_request(rng: random.Random, n_originals: int, cdf: list[float]) -> str:
    rank = next(i for i, c in enumerate(cdf) if c >= rng.random())
    key = f"shop/zipf/{rank:04d}.jpg"
    width = rng.choices(WIDTHS, weights=[4, 6, 10, 8, 6, 3, 2])[0]
    params = []
    # Spellings the URL API folds together: aliases, case, dpr, ladder snapping.
    style = rng.random()
    if style < 0.5:
        params.append(f"w={width}")
    elif style < 0.7:
        params.append(f"width={width}")
    elif style < 0.8:
        params.append(f"W={width}")
    elif style < 0.9:
        params.append(f"w={width // 2}&dpr=2")
    else:
        params.append(f"w={width - rng.randint(1, 30)}")
    fmt = rng.choices(["", "fm=webp", "format=webp", "fm=avif", "fm=jpeg"], weights=[40, 25, 5, 20, 10])[0]
    if fmt:
        params.append(fmt)
    if rng.random() < 0.3:
        params.extend(rng.sample(JUNK, rng.randint(1, 3)))
    rng.shuffle(params)
    return f"/{key}?{'&'.join(params)}"


def zipf_replay(base: str, n_requests: int, n_originals: int, s: float, seed: int) -> dict:
    rng = random.Random(seed)
    weights = [1 / (k + 1) ** s for k in range(n_originals)]
    total = sum(weights)
    cdf, acc = [], 0.0
    for w in weights:
        acc += w / total
        cdf.append(acc)
    paths = [zipf_request(rng, n_originals, cdf) for _ in range(n_requests)]
    before = stats(base)
    t0 = time.perf_counter()

    def timed(path: str) -> tuple[int, float]:
        started = time.perf_counter()
        status = get(base + path)[0]
        return status, time.perf_counter() - started

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(timed, paths, chunksize=64))
    elapsed = time.perf_counter() - t0
    statuses = [st for st, _ in results]
    latencies = sorted(d for _, d in results)
    after = stats(base)
    d = {k: after[k] - before[k] for k in ("requests", "cache_hits", "shield_hits", "origin_requests", "transforms")}
    return {
        "requests": n_requests,
        "errors": sum(1 for st in statuses if st != 200),
        "hit_ratio": d["cache_hits"] / d["requests"],
        "shield_hits": d["shield_hits"],
        "origin_requests": d["origin_requests"],
        "transforms": d["transforms"],
        "cache_objects": after["cache_objects"],
        "seconds": elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "max_ms": latencies[-1] * 1000,
    }


def takedown(base: str, s3, bucket: str, body: bytes) -> float:
    key = "shop/bench-takedown.jpg"
    s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="image/jpeg")
    urls = [f"{base}/{key}?{q}" for q in ("w=320", "w=640&fm=webp", "preset=thumb", "fm=avif&w=480")]
    for u in urls:
        assert get(u)[0] == 200
    t0 = time.monotonic()
    s3.delete_object(Bucket=bucket, Key=key)
    while time.monotonic() - t0 < 600:
        if all(get(u)[0] == 404 for u in urls):
            return time.monotonic() - t0
        time.sleep(1)
    raise SystemExit("takedown: variants still served after 600 s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--originals", type=int, default=1000)
    ap.add_argument("--hit-seconds", type=int, default=10)
    ap.add_argument("--misses", type=int, default=12)
    args = ap.parse_args()
    base = args.base.rstrip("/")
    s3, bucket, config = s3_client(base)
    small = corpus(args.corpus, "07_").read_bytes()
    photo = corpus(args.corpus, "04_").read_bytes()
    s3.put_object(Bucket=bucket, Key="shop/bench-hit.jpg", Body=small, ContentType="image/jpeg")
    s3.put_object(Bucket=bucket, Key="shop/bench-miss.jpg", Body=photo, ContentType="image/jpeg")
    print(f"uploading {args.originals} originals for the replay", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=bucket, Key=f"shop/zipf/{i:04d}.jpg", Body=small, ContentType="image/jpeg"), range(args.originals)))

    # Every upload starts a pre-compute execution (the claim's presets): measure how long
    # the pipeline takes to drain, and measure the CDN only after it has (the renders
    # share the machine's cores with the CDN, as they would not in AWS).
    t0 = time.monotonic()
    while True:
        s = stats(base)
        if s.get("executions_running", 0) == 0:
            break
        if time.monotonic() - t0 > 3600:
            raise SystemExit(f"pre-compute did not drain within an hour: {s}")
        time.sleep(2)
    precompute = {"seconds": time.monotonic() - t0, "executions": s.get("executions_started", 0),
                  "failed": s.get("executions_failed", 0)}

    print("hits (wrk)", flush=True)
    h = hits(base, args.hit_seconds)
    print("misses by format", flush=True)
    m = {fmt: misses(base, fmt, args.misses) for fmt in ("jpeg", "webp", "avif", "png")}
    print(f"Zipf replay: {args.requests} requests over {args.originals} originals", flush=True)
    z = zipf_replay(base, args.requests, args.originals, 1.0, 7)
    print(f"takedown with the claim's settle delay and invalidation window ({config['invalidation_window_seconds']} s)", flush=True)
    t = takedown(base, s3, bucket, small)

    print()
    print("| measure | result |")
    print("| --- | --- |")
    print(f"| hits through the whole path (wrk, 2 threads, 16 connections, {args.hit_seconds} s) | {h['rps']:.0f} requests/s, p50 {h['p50']}, p99 {h['p99']} |")
    for fmt, r in m.items():
        print(f"| misses, {fmt} (2560x1600 JPEG original, distinct widths, one at a time) | {r['per_s']:.1f}/s, p50 {r['p50_ms']:.0f} ms |")
    print(
        f"| Zipf (s=1.0) replay, {z['requests']:,} requests over {args.originals:,} originals, 30% with tracking junk, "
        f"aliases/case/dpr spellings | edge hit ratio {z['hit_ratio']:.1%}; {z['shield_hits']} shield hits, "
        f"{z['origin_requests']} origin requests, {z['transforms']} transforms, {z['errors']} errors; "
        f"latency p50 {z['p50_ms']:.1f} ms, p99 {z['p99_ms']:.0f} ms, max {z['max_ms']:.0f} ms; {z['seconds']:.0f} s |"
    )
    print(
        f"| pre-compute after uploading {args.originals:,} originals (the claim's presets, renderer on this machine) "
        f"| drained in {precompute['seconds']:.0f} s; {precompute['executions']} executions, {precompute['failed']} failed |"
    )
    print(f"| delete to the last layer purged (settle 40 s + window {config['invalidation_window_seconds']} s) | {t:.0f} s |")


if __name__ == "__main__":
    main()
