#!/usr/bin/env python3
"""Rebuilds this directory from the Optics Valley sample (see SOURCES.md).

Usage: vendor.py SOURCE_DIR   (the directory holding
wuhan_optics_valley_buildings.geojson and wuhan_optics_valley_roads.geojson)

Coordinates are copied as parsed (shortest round-trip text of the same
doubles), so they are exact. Areas are drawn from road vertices; see SOURCES.md.
"""
import json
import os
import sys

src = sys.argv[1]
here = os.path.dirname(os.path.abspath(__file__))
buildings = json.load(open(os.path.join(src, "wuhan_optics_valley_buildings.geojson")))
roads = json.load(open(os.path.join(src, "wuhan_optics_valley_roads.geojson")))

# The tile extent: roads are clipped exactly to it.
W, E, S, N = 114.38415527, 114.40612793, 30.50075098, 30.51494905


def write(name, feats):
    with open(os.path.join(here, name), "w") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        f.write(",\n".join(json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in feats))
        f.write("\n]}\n")


def keep(props, names):
    return {k: props[k] for k in names if props.get(k) is not None}


# Buildings: footprints only (no label points, no building parts), with a
# vertex mean inside the tile extent (three merged pieces reach beyond it).
out = []
for f in buildings["features"]:
    p, g = f["properties"], f["geometry"]
    if g["type"] != "Polygon" or p.get("kind") != "building":
        continue
    ring = g["coordinates"][0][:-1]
    x = sum(c[0] for c in ring) / len(ring)
    y = sum(c[1] for c in ring) / len(ring)
    if not (W < x < E and S < y < N):
        continue
    out.append({"type": "Feature",
                "properties": keep(p, ["id", "kind", "kind_detail", "height", "area", "name"]),
                "geometry": g})
write("buildings.geojson", out)
print("buildings", len(out))

# Roads: every line, with the properties that say what it is.
out = []
for f in roads["features"]:
    out.append({"type": "Feature",
                "properties": keep(f["properties"], ["id", "kind", "kind_detail", "name"]),
                "geometry": f["geometry"]})
write("roads.geojson", out)
print("roads", len(out))

# Areas: the extent cut along road centre lines.
line = {f["properties"]["id"]: f["geometry"]["coordinates"] for f in roads["features"]
        if f["geometry"]["type"] == "LineString"}
# Metro line 2 (under Luoyu Road), west edge to east edge.
sub = line[264411349] + line[535649468][1:]
j_n = sub.index([114.39386937, 30.508365])   # below the south end of Lumo Road
j_s = sub.index([114.39329408, 30.50827701])  # above the north end of Minzu Avenue
# Lumo Road, north edge down to the roundabout, then to the metro line.
north = line[488293576] + line[170305299][1:] + [sub[j_n]]
# Minzu Avenue, south edge up to the roundabout, then to the metro line.
south = line[231527033][::-1] + line[98883958][::-1][1:] + [sub[j_s]]
k0 = south.index([114.39332168, 30.50652731])
# Guanggu Street west end to east end, then the road to the east edge.
guanggu = line[104107458][::-1]
cut = [south[k0]] + guanggu + line[316755272][1:]

rings = {
    "420111008001": ("光谷广场西北（示例）", sub[: j_n + 1] + north[::-1] + [[W, N], sub[0]]),
    "420111008002": ("光谷广场东北（示例）", sub[j_n:] + [[E, N]] + north),
    "420111008003": ("光谷广场西南（示例）", [[W, S]] + south + sub[j_s::-1] + [[W, S]]),
    "420111008004": ("光谷街北（示例）", cut + sub[: j_s - 1: -1] + south[k0 + 1: -1][::-1] + [cut[0]]),
    "420111008005": ("光谷街南（示例）", [south[0], [E, S]] + cut[::-1] + south[k0 - 1:: -1]),
}
out = []
for code, (name, ring) in rings.items():
    if ring[0] != ring[-1]:
        ring = ring + [ring[0]]
    out.append({"type": "Feature",
                "properties": {"code": code, "name": name, "kind": "urban"},
                "geometry": {"type": "Polygon", "coordinates": [ring]}})
write("areas.geojson", out)
print("areas", len(out))
