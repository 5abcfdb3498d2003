#!/usr/bin/env python3
"""Generates URL-API test vectors whose expected results are known by construction.

    python3 tests/vectors/generate.py > tests/vectors/generated.json

Standard library only; fixed seed; the output is byte-for-byte deterministic (no set or hash order
reaches it). The settings profiles are copied from handwritten.json beside this file.

Nothing here normalizes a request. Every case starts from the answer: a canonical path and a canonical
parameter set chosen so that it already obeys the rules (w in range or on the ladder, fm enabled, q in
range and not the default, no q with png, fit only with both sizes and never cover). Then a raw request
is written that must come back to exactly that answer, using only transformations that the rules say
are invisible: name
aliases and letter case, percent-encoded names and values, ASCII whitespace around values, junk
parameters, invalid values placed before the valid one under the same raw name, valid decoys placed
after the winning one, values past a clamp bound, w/h written as target/dpr, presets, fm=auto with an
Accept header picked from a table of headers whose avif/webp acceptance is written down by hand, and
signed-URL parameters. About a third of the cases spell the path another way (percent-encoding,
hex case, repeated slashes, %2F): those must be redirected to the canonical spelling with the query
as received. Refusals are made the same way: a valid path with a traversal segment, a
backslash, a control character or a broken escape put into it, or a prefix no tenant has.
See README.md beside this file.
"""

import json
import os
import random
import sys

SEED = 20250611
N_NORMALIZE = 320
N_REFUSE = 90

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "handwritten.json"), encoding="utf-8") as f:
    SETTINGS = json.load(f)["settings"]
PROFILES = list(SETTINGS)  # file order, deterministic

FITS_NOT_COVER = ["contain", "fill", "inside", "outside"]
SIGNED = ["Expires", "Signature", "Key-Pair-Id", "Policy", "Hash-Algorithm"]
ALIASES = {"w": ["w", "width"], "h": ["h", "height"], "dpr": ["dpr"], "fit": ["fit"],
           "fm": ["fm", "format"], "q": ["q", "quality"], "p": ["p", "preset"]}
ALL_ALIAS_NAMES = [n for names in ALIASES.values() for n in names]
WS = ["%20", "%09", "%0A", "%0B", "%0C", "%0D"]  # ASCII whitespace, percent-encoded (a raw '+' is not a space)

# Accept headers with their acceptance of image/avif and image/webp, written down by hand
# (None = no Accept header at all).
ACCEPTS = [
    ("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8", True, True),           # Chrome, Edge
    ("image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5", True, True),      # Firefox
    ("image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5", True, True),  # Safari 17
    ("image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5", False, True),  # Safari 14-15
    ("image/webp,image/apng,image/*,*/*;q=0.8", False, True),                                   # Chrome < 85
    ("image/png, image/svg+xml, image/*; q=0.8, */*; q=0.5", False, False),                     # legacy Edge
    ("*/*", False, False),                                                                      # curl
    (None, False, False),
    ("image/*", False, False),
    ("image/avif;q=0,image/webp", False, True),
    ("image/avif; q=0, image/webp;q=0", False, False),
    ("IMAGE/WEBP", False, True),
    (" image/avif ; q=0.8 ", True, False),
    ("image/avif", True, False),
    ("text/html, image/webp ,*/*", False, True),
]

JUNK_NAMES = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "fbclid", "gclid", "msclkid",
              "sessionid", "PHPSESSID", "jsessionid", "sid", "_", "cb", "v", "t", "ts", "ref", "nocache",
              "rnd", "version", "signature", "expires", "key-pair-id", "policy", "hash-algorithm", "size",
              "auto", "crop", "fmt", "qual", "wid", "px", "ratio", "dpi", "widths", "presets", "quality_"]
for _n in JUNK_NAMES:
    assert _n.lower() not in ALL_ALIAS_NAMES and _n not in SIGNED, _n

INVALID = {  # values that are invalid under every profile (after decoding and trimming)
    "w": ["", "0", "00", "abc", "-5", "12.5", "1e3", "+5", "0x10", "%zz", "4%2000", "400px", "%C2%A0400"],
    "h": ["", "0", "abc", "-300", "2.5", "1e2", "%", "300%20px"],
    "q": ["", "0", "-1", "75.5", "high", "%zz", "1e2"],
    "dpr": ["", "2.", ".5", "abc", "-2", "1e1", "2x", "1,5"],
    "fit": ["", "crop", "scale", "contain2", "co%6Eta", "%zz"],
    "fm": ["", "gif", "tiff", "jxl", "heic", "web", "%zz"],
    "p": ["", "nope", "default", "thumbs", "%zz"],
}

# Decoded path segments for keys (never '.', '..', empty, with '/', '\\' or a control character).
KEY_SEGMENTS = ["a.jpg", "IMG_0042.JPG", "photos", "2024", "11", "products", "red-shoe_01.webp",
                "caf\u00e9.png", "summer sale.jpg", "logo (1).png", "\u65e5\u672c.jpg", "100%.png",
                "a+b.jpg", "it's.avif", "\u00fcber", "x~y.gif", "emoji-\U0001F600.png", "hello,world.jpg",
                "v1.2.3", "...", ".well-known", "q=1&w=2.jpg", "hash#tag.jpg", "question?.jpg",
                "semi;colon.jpg", "at@home.jpg", "dollar$.jpg", "*star*.jpg", "!bang.jpg", "colon:x.png",
                "[brackets].jpg", "quote\".jpg", "pipe|x.jpg", "caret^.jpg", "tick`.jpg", "{curly}.jpg"]

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"  # encodeURIComponent keeps
RAW_OK_IN_PATH = UNRESERVED + "$&+,;=:@"  # may appear unencoded in a request path

R = random.Random(SEED)


# ------------------------------------------------------------------------------------------------
# Small helpers

def pct(ch, upper=None):
    """Percent-encode one character as UTF-8, hex digits in upper or lower case."""
    if upper is None:
        upper = R.random() < 0.7
    out = ""
    for b in ch.encode("utf-8"):
        h = "%02X" % b
        out += "%" + (h if upper else h.lower())
    return out


def encode_uri_component(s):
    return "".join(c if c in UNRESERVED else pct(c, True) for c in s)


def random_case(word):
    r = R.random()
    if r < 0.3:
        return word
    if r < 0.45:
        return word.upper()
    return "".join(c.upper() if R.random() < 0.5 else c for c in word)


def spell_name(name):
    """A raw query name that decodes, trims and lower-cases to `name`."""
    s = random_case(name)
    if R.random() < 0.15:  # percent-encode one character
        i = R.randrange(len(s))
        s = s[:i] + pct(s[i]) + s[i + 1:]
    if R.random() < 0.08:
        s = R.choice(WS) + s
    if R.random() < 0.08:
        s = s + R.choice(WS)
    return s


def dress_value(v, word=False):
    """Raw spelling of a value: letter case for words, some characters percent-encoded, whitespace."""
    if word:
        v = random_case(v)
    if v and R.random() < 0.12:
        i = R.randrange(len(v))
        v = v[:i] + pct(v[i]) + v[i + 1:]
    if R.random() < 0.12:
        v = "".join(R.choice(WS) for _ in range(R.randint(1, 2))) + v
    if R.random() < 0.12:
        v = v + "".join(R.choice(WS) for _ in range(R.randint(1, 2)))
    return v


def pad_zeros(n):
    s = str(n)
    if R.random() < 0.1 and len(s) < 9:
        s = "0" * R.randint(1, 9 - len(s)) + s
    return s


def huge_digits():
    """At least 10 digits, not starting with 0: "huge", i.e. the clamp bound."""
    return str(R.randint(1, 9)) + "".join(str(R.randint(0, 9)) for _ in range(R.randint(9, 19)))


def junk_value():
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~"
    v = "".join(R.choice(alphabet) for _ in range(R.randint(0, 14)))
    if R.random() < 0.2:
        v += R.choice(["%20", "%2F", "%3D", "%zz", "%", "+", "%E2%9C%93"])
    return v


def signed_value(name):
    if name == "Expires":
        return str(R.randint(1700000000, 2000000000))
    if name == "Key-Pair-Id":
        return "K" + "".join(R.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(13))
    if name == "Hash-Algorithm":
        return R.choice(["SHA256", "SHA1"])
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~"
    v = "".join(R.choice(alphabet) for _ in range(R.randint(8, 40)))
    if R.random() < 0.3:
        v += R.choice(["%3D%3D", "==", "%2B", "%zz"])
    return v


def accept_for(S, want):
    """An Accept header (or None) under which fm=auto resolves to `want` ('avif', 'webp' or None)."""
    fm = S["formats"]
    options = []
    for header, avif, webp in ACCEPTS:
        got = "avif" if ("avif" in fm and avif) else "webp" if ("webp" in fm and webp) else None
        if got == want:
            options.append(header)
    return R.choice(options) if options else "unavailable"


def ladder_range(S, step):
    """Raw widths (lo, hi) that snap to ladder `step` (hi None = unbounded: past maxWidth, even huge)."""
    L = S["widthLadder"]
    i = L.index(step)
    lo = L[i - 1] + 1 if i > 0 else 1
    hi = None if i == len(L) - 1 else step
    return lo, hi


def headers_with(accept):
    h = {}
    if R.random() < 0.15:
        h["user-agent"] = R.choice(["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)", "curl/8.5.0"])
    if accept is not None:
        h["accept"] = accept
    if R.random() < 0.1:
        h["host"] = "img.example.com"
    return h


# ------------------------------------------------------------------------------------------------
# Paths

def raw_segment(seg):
    out = ""
    for c in seg:
        if c in RAW_OK_IN_PATH and R.random() < 0.85:
            out += c
        else:
            out += pct(c)
    return out


def raw_path(segments):
    """A raw uri whose strict decoding, split on '/', empty segments dropped, gives `segments`."""
    out = "//" if R.random() < 0.1 else "/"
    for i, seg in enumerate(segments):
        if i > 0:
            r = R.random()
            out += "//" if r < 0.08 else R.choice(["%2F", "%2f"]) if r < 0.14 else "/"
        out += raw_segment(seg)
    if R.random() < 0.1:
        out += "/" * R.randint(1, 2)
    return out


def pick_key():
    return [R.choice(KEY_SEGMENTS) for _ in range(R.choice([1, 1, 2, 2, 3]))]


def canonical_uri(segments):
    return "/" + "/".join(encode_uri_component(s) for s in segments)


# ------------------------------------------------------------------------------------------------
# Query assembly

class Query:
    """Pieces of a raw query. Groups keep their internal order; decoys go after their anchor group."""

    def __init__(self, S):
        self.S = S
        self.groups = []   # list of lists of (name, value-or-None) ; None value = no '=' at all
        self.after = []    # (anchor group index, list of pieces)

    def group(self, pieces):
        self.groups.append(list(pieces))
        return len(self.groups) - 1

    def decoy(self, anchor, pieces):
        self.after.append((anchor, list(pieces)))

    def render(self):
        # Random interleave of the groups, keeping each group's order.
        queues = [list(g) for g in self.groups]
        seq, owner = [], []
        while any(queues):
            i = R.choice([k for k, q in enumerate(queues) if q])
            seq.append(queues[i].pop(0))
            owner.append(i)
        # Decoys: somewhere after the last piece of their anchor group.
        for anchor, pieces in self.after:
            last = max(k for k, o in enumerate(owner) if o == anchor)
            pos = R.randint(last + 1, len(seq))
            for j, p in enumerate(pieces):
                seq.insert(pos + j, p)
                owner.insert(pos + j, -1)
        parts = []
        for name, value in seq:
            parts.append(name if value is None else name + "=" + value)
            if R.random() < 0.04:
                parts.append("")  # an empty piece ("&&")
        s = "&".join(parts)
        if R.random() < 0.05:
            s = "&" + s
        if R.random() < 0.05:
            s = s + "&"
        return s


def param_group(q, key, raw_values, techniques):
    """Adds a group for canonical `key` whose winning raw value is raw_values[-1] (earlier ones invalid)."""
    name = spell_name(R.choice(ALIASES[key]))
    pieces = []
    if R.random() < 0.25:
        techniques.append("invalid-first")
        for _ in range(R.randint(1, 2)):
            bad = R.choice(INVALID[key])
            if key == "fm":
                # plus the formats this profile does not enable
                bad = R.choice(INVALID["fm"] + [f for f in ["jpeg", "png", "webp", "avif"] if f not in q.S["formats"]])
            pieces.append((name, None if bad == "" and R.random() < 0.3 else bad))
    for v in raw_values:
        pieces.append((name, v))
    return q.group(pieces)


def add_decoy(q, anchor, key, value, techniques):
    """A later occurrence (another spelling, any value) that must lose to the anchor's winner."""
    techniques.append("decoy-after")
    q.decoy(anchor, [(spell_name(R.choice(ALIASES[key])), value)])


# ------------------------------------------------------------------------------------------------
# Normalizing cases

def choose_dpr(S, target):
    """Pick a dpr d in {2, 4} such that every present size can be written as raw*d (exactly, or past
    the clamp bound, or anywhere in the ladder step's range). Returns (d, {key: raw int or 'huge'})."""
    for d in R.sample([2, 4], 2):
        raws = {}
        okay = True
        for key in ("w", "h"):
            if key not in target:
                continue
            n = target[key]
            maxv = S["maxWidth"] if key == "w" else S["maxHeight"]
            if key == "w" and S["widthLadder"]:
                lo, hi = ladder_range(S, n)
                rlo = -(-lo // d)                # smallest r with r*d >= lo
                rhi = hi // d if hi is not None else None
                if rhi is not None and rlo > rhi:
                    okay = False
                    break
                raws[key] = R.randint(rlo, rhi if rhi is not None else max(rlo, maxv))
            elif n == maxv:
                raws[key] = R.randint(-(-maxv // d), maxv) if R.random() < 0.8 else "huge"
            elif n % d == 0:
                raws[key] = n // d
            else:
                okay = False
                break
        if okay:
            return d, raws
    return None, None


def dpr_spelling(d):
    if d == 1:
        return R.choice(["1", "1.0", "0", "0.5", "0.99", "01"])
    if d == 2:
        return R.choice(["2", "2.0", "02", "2.00"])
    return R.choice(["4", "4.0", "4.5", "10", "99", "4.0001", "999999999999"])  # all clamp to 4


def size_spelling(S, key, n):
    """Raw decimal for a size that normalizes to n with dpr 1."""
    maxv = S["maxWidth"] if key == "w" else S["maxHeight"]
    if key == "w" and S["widthLadder"]:
        lo, hi = ladder_range(S, n)
        if hi is None:
            r = R.random()
            if r < 0.15:
                return huge_digits()
            return str(R.randint(lo, maxv + 5000 if r < 0.5 else maxv))
        return pad_zeros(R.randint(lo, hi))
    if n == maxv and R.random() < 0.7:
        return huge_digits() if R.random() < 0.4 else str(R.randint(maxv + 1, 999999999))
    return pad_zeros(n)


def q_spelling(S, n):
    if n == S["maxQuality"] and R.random() < 0.7:
        r = R.random()
        return huge_digits() if r < 0.3 else str(R.randint(S["maxQuality"] + 1, 100 if r < 0.6 else 5000))
    if n == S["minQuality"] and R.random() < 0.7:
        return pad_zeros(R.randint(1, S["minQuality"]))
    return pad_zeros(n)


def pick_width(S):
    if S["widthLadder"]:
        return R.choice(S["widthLadder"])
    r = R.random()
    if r < 0.15:
        return S["maxWidth"]
    if r < 0.5:
        return min(S["maxWidth"], R.choice([100, 120, 200, 320, 400, 480, 640, 800, 1024, 1280, 1920, 2048]))
    if r < 0.7:
        return 4 * R.randint(1, S["maxWidth"] // 4)
    return R.randint(1, S["maxWidth"])


def pick_height(S):
    r = R.random()
    if r < 0.15:
        return S["maxHeight"]
    if r < 0.5:
        return min(S["maxHeight"], R.choice([100, 180, 200, 240, 300, 360, 480, 600, 720, 1080]))
    if r < 0.7:
        return 4 * R.randint(1, S["maxHeight"] // 4)
    return R.randint(1, S["maxHeight"])


def pick_quality(S):
    choices = [x for x in range(S["minQuality"], S["maxQuality"] + 1) if x != S["defaultQuality"]]
    r = R.random()
    if r < 0.15:
        return S["maxQuality"]
    if r < 0.3:
        return S["minQuality"]
    return R.choice(choices)


def check_target(S, t):
    if "w" in t:
        assert 1 <= t["w"] <= S["maxWidth"], t
        assert not S["widthLadder"] or t["w"] in S["widthLadder"], t
    if "h" in t:
        assert 1 <= t["h"] <= S["maxHeight"], t
    if "fit" in t:
        assert "w" in t and "h" in t and t["fit"] in FITS_NOT_COVER, t
    if "fm" in t:
        assert t["fm"] in S["formats"], t
    if "q" in t:
        assert S["minQuality"] <= t["q"] <= S["maxQuality"] and t["q"] != S["defaultQuality"], t
        assert t.get("fm") != "png", t


def explicit_case(S, q, techniques):
    """Target chosen freely; every canonical param written explicitly."""
    t = {}
    if R.random() < 0.65:
        t["w"] = pick_width(S)
    if R.random() < 0.45:
        t["h"] = pick_height(S)
    if "w" in t and "h" in t and R.random() < 0.5:
        t["fit"] = R.choice(FITS_NOT_COVER)
    if R.random() < 0.55:
        t["fm"] = R.choice(S["formats"])
    if t.get("fm") != "png" and R.random() < 0.45:
        t["q"] = pick_quality(S)
    check_target(S, t)

    accept = R.choice(ACCEPTS)[0]  # irrelevant unless fm=auto is used below
    d, draws = (None, None)
    if ("w" in t or "h" in t) and R.random() < 0.35:
        d, draws = choose_dpr(S, t)
    if d is not None:
        techniques.append("dpr%d" % d)
        q.group([(spell_name("dpr"), dress_value(dpr_spelling(d)))])
    elif R.random() < 0.15:
        techniques.append("dpr1")
        q.group([(spell_name("dpr"), dress_value(dpr_spelling(1)))])

    for key in ("w", "h"):
        if key not in t:
            continue
        if d is not None:
            raw = draws[key]
            v = huge_digits() if raw == "huge" else pad_zeros(raw)
        else:
            v = size_spelling(S, key, t[key])
        g = param_group(q, key, [dress_value(v)], techniques)
        if R.random() < 0.2:
            add_decoy(q, g, key, str(R.randint(1, 5000)), techniques)

    if "fit" in t:
        g = param_group(q, "fit", [dress_value(t["fit"], word=True)], techniques)
        if R.random() < 0.2:
            add_decoy(q, g, "fit", R.choice(["cover", "fill", "inside"]), techniques)
    elif R.random() < 0.2:
        # fit that must vanish: cover always; anything when a size is missing.
        techniques.append("fit-dropped")
        v = "cover" if ("w" in t and "h" in t) or R.random() < 0.3 else R.choice(FITS_NOT_COVER)
        q.group([(spell_name("fit"), dress_value(v, word=True))])

    if "fm" in t:
        if t["fm"] in ("avif", "webp") and R.random() < 0.4 and accept_for(S, t["fm"]) != "unavailable":
            techniques.append("auto")
            accept = accept_for(S, t["fm"])
            v = "auto"
        else:
            v = "jpg" if t["fm"] == "jpeg" and R.random() < 0.5 else t["fm"]
        g = param_group(q, "fm", [dress_value(v, word=True)], techniques)
        if R.random() < 0.2:
            add_decoy(q, g, "fm", R.choice(["png", "webp", "jpeg", "auto"]), techniques)
    elif R.random() < 0.25 and accept_for(S, None) != "unavailable":
        techniques.append("auto-unresolved")
        accept = accept_for(S, None)
        q.group([(spell_name("fm"), dress_value("auto", word=True))])
    elif R.random() < 0.1:
        techniques.append("fm-invalid")
        q.group([(spell_name("fm"), R.choice(INVALID["fm"]))])

    if "q" in t:
        g = param_group(q, "q", [dress_value(q_spelling(S, t["q"]))], techniques)
        if R.random() < 0.2:
            add_decoy(q, g, "q", str(R.randint(1, 100)), techniques)
    elif R.random() < 0.25:
        # q that must vanish: the default (any spelling), or anything when the output is png.
        if t.get("fm") == "png":
            techniques.append("q-with-png")
            v = str(R.randint(1, 100))
        else:
            techniques.append("q-default")
            v = pad_zeros(S["defaultQuality"])
        q.group([(spell_name("q"), dress_value(v))])

    if R.random() < 0.1:
        techniques.append("p-invalid")
        bad = R.choice(INVALID["p"])
        assert bad.lower() not in [p["name"] for p in S["presets"]]
        q.group([(spell_name("p"), bad)])
    if not ("w" in t or "h" in t) and R.random() < 0.15:
        techniques.append("dpr-alone")
        q.group([(spell_name("dpr"), dress_value(dpr_spelling(R.choice([1, 2, 4]))))])
    return t, accept


def preset_canonical(S, P, d, overrides):
    """The canonical params of preset P with explicit `overrides` (canonical values, or 'cover' for fit,
    or the default quality) and dpr d in {1, 2, 4}: preset values, overridden, sizes times d clamped
    and snapped to the ladder, fit kept only with both sizes and not cover, q dropped with png or when
    it is the default."""
    m = {}
    for src, key in (("width", "w"), ("height", "h"), ("fit", "fit"), ("format", "fm"), ("quality", "q")):
        if src in P:
            m[key] = P[src]
    m.update(overrides)
    t = {}
    if "w" in m:
        w = min(S["maxWidth"], m["w"] * d)
        if S["widthLadder"]:
            w = next((s for s in S["widthLadder"] if s >= w), S["widthLadder"][-1])
        t["w"] = w
    if "h" in m:
        t["h"] = min(S["maxHeight"], m["h"] * d)
    if "fit" in m and "w" in t and "h" in t and m["fit"] != "cover":
        t["fit"] = m["fit"]
    if m.get("fm") is not None:
        t["fm"] = m["fm"]
    if "q" in m and t.get("fm") != "png" and m["q"] != S["defaultQuality"]:
        t["q"] = m["q"]
    return t


def preset_case(S, q, techniques):
    P = R.choice(S["presets"])
    techniques.append("preset:" + P["name"])
    d = R.choice([1, 1, 1, 2, 4])
    overrides = {}
    raw_overrides = []  # (key, raw value)
    accept = R.choice(ACCEPTS)[0]
    for key in ("w", "h", "fit", "fm", "q"):
        if R.random() >= 0.2:
            continue
        if key == "w":
            v = R.choice(S["widthLadder"]) if S["widthLadder"] else R.randint(1, S["maxWidth"])
            overrides["w"] = v
            raw_overrides.append(("w", str(v)))
        elif key == "h":
            v = R.randint(1, S["maxHeight"])
            overrides["h"] = v
            raw_overrides.append(("h", str(v)))
        elif key == "fit":
            v = R.choice(FITS_NOT_COVER + ["cover"])
            overrides["fit"] = v
            raw_overrides.append(("fit", v))
        elif key == "fm":
            if R.random() < 0.4:
                want = R.choice(["avif", "webp", None])
                if accept_for(S, want) != "unavailable":
                    accept = accept_for(S, want)
                    overrides["fm"] = want  # None: auto that resolves to nothing removes the preset's format
                    raw_overrides.append(("fm", "auto"))
                    techniques.append("auto")
                    continue
            v = R.choice(S["formats"])
            overrides["fm"] = v
            raw_overrides.append(("fm", "jpg" if v == "jpeg" and R.random() < 0.5 else v))
        else:
            v = R.choice(list(range(S["minQuality"], S["maxQuality"] + 1)) + [S["defaultQuality"]] * 5)
            overrides["q"] = v
            raw_overrides.append(("q", str(v)))
    t = preset_canonical(S, P, d, overrides)
    check_target(S, t)

    g = param_group(q, "p", [dress_value(P["name"], word=True)], techniques)
    if R.random() < 0.2:
        add_decoy(q, g, "p", R.choice([p["name"] for p in S["presets"]] + ["nope"]), techniques)
    if d != 1 or R.random() < 0.1:
        techniques.append("dpr%d" % d)
        q.group([(spell_name("dpr"), dress_value(dpr_spelling(d)))])
    for key, v in raw_overrides:
        techniques.append("override-" + key)
        param_group(q, key, [dress_value(v, word=key in ("fit", "fm"))], techniques)
    return t, accept


def add_noise(q, techniques):
    n = R.choice([0, 0, 1, 1, 2, 3, 4])
    if n:
        techniques.append("junk")
    for _ in range(n):
        name = R.choice(JUNK_NAMES)
        if R.random() < 0.2:
            name = random_case(name)
            if name in SIGNED:  # "expires" cased as "Expires" would be a real signed parameter
                name = name.lower()
        v = junk_value()
        q.group([(name, None if v == "" and R.random() < 0.5 else v)])
    if R.random() < 0.05:
        techniques.append("prototype-names")
        q.group([(R.choice(["__proto__", "constructor", "toString", "hasOwnProperty"]), junk_value())])


def add_signed(q, techniques):
    """Signed-URL params in random order; returns the expected tail (fixed order, values in order)."""
    if R.random() >= 0.15:
        return []
    techniques.append("signed")
    names = R.sample(SIGNED, R.randint(1, len(SIGNED)))
    values = {}
    for name in names:
        vals = [signed_value(name) for _ in range(2 if R.random() < 0.1 else 1)]
        values[name] = vals
        q.group([(name, v) for v in vals])
    return [name + "=" + v for name in SIGNED if name in values for v in values[name]]


def normalize_case(i):
    profile = PROFILES[i % len(PROFILES)]
    S = SETTINGS[profile]
    techniques = []
    prefix = R.choice(S["prefixes"])
    segments = prefix.split("/") + pick_key()
    q = Query(S)
    if S["presets"] and R.random() < 0.22:
        t, accept = preset_case(S, q, techniques)
    else:
        t, accept = explicit_case(S, q, techniques)
    add_noise(q, techniques)
    tail = add_signed(q, techniques)
    expect_query = "&".join([k + "=" + str(t[k]) for k in ("fit", "fm", "h", "q", "w") if k in t] + tail)
    canonical = canonical_uri(segments)
    # Most requests spell the path canonically; any other spelling is redirected to the
    # canonical one with the query as received (never rewritten and forwarded).
    uri = canonical if R.random() < 0.7 else raw_path(segments)
    desc = ",".join(k for k in ("w", "h", "fit", "fm", "q") if k in t) or "original"
    raw_query = q.render()
    if uri == canonical:
        expect = {"uri": canonical, "query": expect_query}
    else:
        techniques.append("path-redirect")
        expect = {"status": 301, "location": canonical + event_query(raw_query)}
    return {
        "name": "gen %04d %s: %s [%s]" % (i + 1, profile, desc, " ".join(dict.fromkeys(techniques)) or "plain"),
        "settings": profile,
        "request": {"uri": uri, "query": raw_query, "headers": headers_with(accept)},
        "expect": expect,
    }


def event_query(raw):
    """The query as CloudFront's event groups it (by name, in order of first appearance),
    serialized again as `?name=value&...` ('' when empty): what a redirect carries."""
    groups = {}
    for piece in raw.split("&"):
        if piece == "":
            continue
        name, _, value = piece.partition("=")
        groups.setdefault(name, []).append(value)
    pairs = [n + "=" + v for n, vs in groups.items() for v in vs]
    return "?" + "&".join(pairs) if pairs else ""


# ------------------------------------------------------------------------------------------------
# Refusals

TRAVERSALS = ["..", ".", "%2e%2e", "%2E%2E", ".%2e", "%2E.", "%2e", "%2E", "%2e.", ".%2E"]
BACKSLASHES = ["\\", "%5C", "%5c"]
CONTROLS = ["%00", "%01", "%08", "%09", "%0A", "%0d", "%1B", "%1F", "%7F", "%7f"]
MALFORMED = ["%", "%G1", "%1", "%zz", "%E0%A4", "%C0%AF", "%ED%A0%80", "%FF", "%C3%28", "%F0%9F%98", "%80"]
FOREIGN = ["shopping", "shop-eu", "SHOP", "Shop", "partners", "partners/med", "partners/mediax", "media",
           "other", "cdn", "cdn/v3", "CDN/v2", "tenants/acme", "tenants/acme/imagesx", "tenants", "static",
           "img", "shop.", "sh0p", "tenants/acme-eu", "x/shop", "images"]


def matches_prefix(S, segments):
    joined = "/".join(segments)
    return any(joined.startswith(p + "/") and len(joined) > len(p) + 1 for p in S["prefixes"])


def refuse_case(i):
    profile = PROFILES[i % len(PROFILES)]
    S = SETTINGS[profile]
    prefix = R.choice(S["prefixes"])
    key = pick_key()
    kind = R.choice(["traversal", "traversal", "foreign", "foreign", "prefix-only", "backslash", "control", "malformed"])
    if kind == "traversal":
        segs = [raw_segment(s) for s in prefix.split("/") + key]
        segs.insert(R.randint(0, len(segs)), R.choice(TRAVERSALS))
        uri = "/" + "/".join(segs)
    elif kind == "foreign":
        while True:
            foreign = R.choice(FOREIGN).split("/")
            if not matches_prefix(S, foreign + key):
                break
        uri = raw_path(foreign + key)
    elif kind == "prefix-only":
        uri = R.choice(["/", "//"]) + "/".join(raw_segment(s) for s in prefix.split("/")) + R.choice(["", "/", "//", "/%2F"])
    else:
        bad = R.choice({"backslash": BACKSLASHES, "control": CONTROLS, "malformed": MALFORMED}[kind])
        segs = [raw_segment(s) for s in prefix.split("/") + key]
        j = R.randrange(len(prefix.split("/")), len(segs))  # inside a key segment
        s = segs[j]
        if kind == "malformed":
            # At the end of a segment: what follows is '/' or the end, so the escape stays broken.
            segs[j] = s + bad
        else:
            cut = R.randint(0, len(s))
            while cut < len(s) and "%" in s[max(0, cut - 2):cut]:
                cut += 1  # never split an existing %XX
            segs[j] = s[:cut] + bad + s[cut:]
        uri = "/" + "/".join(segs)
    q = Query(S)
    techniques = []
    explicit_case(S, q, techniques)
    add_noise(q, techniques)
    add_signed(q, techniques)
    return {
        "name": "gen %04d %s: refused %s" % (N_NORMALIZE + i + 1, profile, kind),
        "settings": profile,
        "request": {"uri": uri, "query": q.render(), "headers": headers_with(R.choice(ACCEPTS)[0])},
        "expect": {"status": 403},
    }


# ------------------------------------------------------------------------------------------------

def dump(doc):
    out = ["{", '  "settings": {']
    items = list(doc["settings"].items())
    for i, (k, v) in enumerate(items):
        out.append("    " + json.dumps(k) + ": " + json.dumps(v) + ("," if i < len(items) - 1 else ""))
    out.append("  },")
    out.append('  "cases": [')
    for i, c in enumerate(doc["cases"]):
        out.append("    " + json.dumps(c) + ("," if i < len(doc["cases"]) - 1 else ""))
    out.append("  ]")
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    cases = [normalize_case(i) for i in range(N_NORMALIZE)] + [refuse_case(i) for i in range(N_REFUSE)]
    names = [c["name"] for c in cases]
    assert len(names) == len(dict.fromkeys(names)), "duplicate case names"
    sys.stdout.write(dump({"settings": SETTINGS, "cases": cases}))


if __name__ == "__main__":
    main()
