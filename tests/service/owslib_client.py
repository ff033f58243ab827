"""A real OGC API - Features client (OWSLib) against `wangge serve`.

Usage: owslib_client.py BASE_URL CLI_DIR

Lists the collections, reads t.areas and t.households page by page (and with a
bbox), and checks that the features are exactly those `wangge convert` wrote to
CLI_DIR/areas.geojson and CLI_DIR/households.geojson.
"""
import json
import sys
import urllib.request

from openapi_spec_validator import validate
from owslib.ogcapi.features import Features

base, cli_dir = sys.argv[1], sys.argv[2]
api = Features(base)

# The API document is valid OpenAPI 3.0 and self-contained.
with urllib.request.urlopen(f"{base}/api") as r:
    doc = json.load(r)
validate(doc)
assert '"$ref": "http' not in json.dumps(doc)
print("OpenAPI document: valid")

ids = [c["id"] for c in api.collections()["collections"]]
assert "t.areas" in ids and "t.households" in ids, ids
conf = api.conformance()["conformsTo"]
assert any(c.endswith("/conf/core") for c in conf), conf
assert any(c.endswith("/conf/geojson") for c in conf), conf
print("collections:", ", ".join(ids))


def key(f):
    return str(f.get("id")) if f.get("id") is not None else json.dumps(f["geometry"], sort_keys=True)


def read_all(cid, page, **kw):
    feats, offset, pages = [], 0, 0
    while True:
        r = api.collection_items(cid, limit=page, offset=offset, **kw)
        assert r["type"] == "FeatureCollection"
        got = r["features"]
        assert r["numberReturned"] == len(got)
        matched = r["numberMatched"]
        feats.extend(got)
        pages += 1
        offset += len(got)
        has_next = any(l["rel"] == "next" for l in r.get("links", []))
        if not has_next:
            break
    assert len(feats) == matched, (len(feats), matched)
    return feats, pages


def same(served, written, what):
    a = {key(f): f for f in served}
    b = {key(f): f for f in written}
    assert len(a) == len(served), f"{what}: duplicate features served"
    assert a.keys() == b.keys(), f"{what}: ids differ ({len(a)} vs {len(b)})"
    for k, f in a.items():
        g = b[k]
        assert f["geometry"] == g["geometry"], f"{what} {k}: geometry differs"
        assert f["properties"] == g["properties"], f"{what} {k}: {f['properties']} != {g['properties']}"


def bbox_of(f):
    xs, ys = [], []

    def walk(c):
        if isinstance(c[0], (int, float)):
            xs.append(c[0]); ys.append(c[1])
        else:
            for x in c:
                walk(x)

    walk(f["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


def intersects(b, q):
    return not (b[2] < q[0] or b[0] > q[2] or b[3] < q[1] or b[1] > q[3])


for layer, page in [("areas", 7), ("households", 100)]:
    with open(f"{cli_dir}/{layer}.geojson") as fh:
        written = json.load(fh)["features"]
    served, pages = read_all(f"t.{layer}", page)
    same(served, written, layer)
    print(f"t.{layer}: {len(served)} features in {pages} pages of {page}, identical to the CLI output")
    q = [118.305, 32.305, 118.335, 32.325]
    served_b, pages_b = read_all(f"t.{layer}", page, bbox=q)
    want = [f for f in written if intersects(bbox_of(f), q)]
    assert 0 < len(want) < len(written), len(want)
    same(served_b, want, layer + " in bbox")
    print(f"t.{layer} bbox {q}: {len(served_b)} features in {pages_b} pages, as expected")
    one = api.collection_item(f"t.{layer}", str(served[3]["id"]))
    assert one["properties"] == served[3]["properties"]

print("OWSLib client: OK")
