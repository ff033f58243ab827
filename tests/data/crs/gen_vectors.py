#!/usr/bin/env python3
"""Generate the independent test vectors for wangge's `crs` module.

The numbers in this folder come from third-party implementations, never from
wangge itself, so the Rust tests compare against an outside reference:

* proj_vectors.json: pyproj (PROJ via its own bundled build), for EPSG codes
  used in Chinese survey data (CGCS2000 3-degree Gauss-Kruger, with and
  without the zone prefix), UTM, the British National Grid and Web Mercator.
* chinese_vectors.json: WGS84 -> GCJ-02 and WGS84 -> BD-09 from the PyPI
  package `coord-convert` (Krasovsky-ellipsoid formulas), cross-checked here
  against the independent public-domain package `prcoords`.

Run (from the repository root):

    python3 -m venv .tools/pyvenv
    .tools/pyvenv/bin/pip install pyproj coord-convert prcoords
    .tools/pyvenv/bin/python tests/data/crs/gen_vectors.py
"""

import json
import os
import warnings

import pyproj
from pyproj import Transformer
import coord_convert.transform as cc
import prcoords

HERE = os.path.dirname(os.path.abspath(__file__))


def frange(start, stop, n):
    return [start + (stop - start) * i / (n - 1) for i in range(n)]


def proj_vectors():
    # Chuzhou (Anhui) spans the CGCS2000 3-degree zones with CM 117E and 120E.
    chuzhou = [(lon, lat) for lon in frange(117.8, 119.2, 8) for lat in frange(32.0, 33.1, 5)]
    trafford = [(lon, lat) for lon in frange(-2.45, -2.15, 4) for lat in frange(53.38, 53.49, 3)]
    sets = [
        ("EPSG:4549", chuzhou),  # CGCS2000 / 3-degree GK CM 120E
        ("EPSG:4548", chuzhou),  # CGCS2000 / 3-degree GK CM 117E
        ("EPSG:4528", chuzhou),  # CGCS2000 / 3-degree GK zone 40 (CM 120E, 40 prefix)
        ("EPSG:32650", chuzhou),  # WGS 84 / UTM zone 50N
        ("EPSG:3857", chuzhou + trafford),  # Web Mercator
        ("EPSG:27700", trafford),  # OSGB36 / British National Grid
    ]
    out = []
    for code, pts in sets:
        fwd = Transformer.from_crs("EPSG:4326", code, always_xy=True)
        inv = Transformer.from_crs(code, "EPSG:4326", always_xy=True)
        points = []
        for lon, lat in pts:
            x, y = fwd.transform(lon, lat)
            # What pyproj itself gives back for (x, y): the reference for the
            # Rust inverse (equal to lon/lat up to pyproj's own round trip).
            lon2, lat2 = inv.transform(x, y)
            points.append({"lon": lon, "lat": lat, "x": x, "y": y, "inv_lon": lon2, "inv_lat": lat2})
        out.append({"crs": code, "operation": inv.description, "points": points})
    return {
        "generator": "tests/data/crs/gen_vectors.py",
        "pyproj": pyproj.__version__,
        "proj": pyproj.proj_version_str,
        "axis_order": "lon/lat and easting/northing (always_xy=True)",
        "sets": out,
    }


# (name, WGS84 lon, WGS84 lat). The last ones are outside the usual
# out-of-China box (72.004-137.8347 E, 0.8293-55.8271 N), where GCJ-02 is the
# identity; Seoul is inside the box (the box is a rectangle, not a border).
PLACES = [
    ("Chuzhou", 118.3163, 32.3036),
    ("Chuzhou Langya", 118.2953, 32.2942),
    ("Nanjing", 118.7969, 32.0603),
    ("Beijing", 116.3912, 39.9073),
    ("Shanghai", 121.4737, 31.2304),
    ("Guangzhou", 113.2644, 23.1291),
    ("Shenzhen", 114.0579, 22.5431),
    ("Hong Kong", 114.1694, 22.3193),
    ("Taipei", 121.5654, 25.0330),
    ("Haikou", 110.3312, 20.0310),
    ("Sanya", 109.5119, 18.2528),
    ("Kunming", 102.8329, 24.8801),
    ("Chengdu", 104.0665, 30.5723),
    ("Xi'an", 108.9398, 34.3416),
    ("Lanzhou", 103.8343, 36.0611),
    ("Lhasa", 91.1409, 29.6456),
    ("Urumqi", 87.6168, 43.8256),
    ("Kashgar", 75.9898, 39.4704),
    ("Harbin", 126.5350, 45.8038),
    ("Mohe", 122.5388, 52.9727),
    ("Hohhot", 111.7519, 40.8414),
    ("Wuhan", 114.3055, 30.5928),
    ("Seoul", 126.9780, 37.5665),
    ("Tokyo", 139.6917, 35.6895),
    ("London", -0.1276, 51.5072),
    ("Sydney", 151.2093, -33.8688),
]


def chinese_vectors():
    warnings.simplefilter("ignore")  # prcoords warns on the out-of-China points
    points = []
    worst_gcj = worst_bd = 0.0
    for name, lon, lat in PLACES:
        glon, glat = cc.wgs2gcj(lon, lat)
        blon, blat = cc.wgs2bd(lon, lat)
        p_g = prcoords.wgs_gcj((lat, lon))
        p_b = prcoords.wgs_bd((lat, lon))
        worst_gcj = max(worst_gcj, abs(p_g.lon - glon), abs(p_g.lat - glat))
        worst_bd = max(worst_bd, abs(p_b.lon - blon), abs(p_b.lat - blat))
        points.append({"name": name, "wgs84": [lon, lat], "gcj02": [glon, glat], "bd09": [blon, blat]})
    # Two independent implementations must agree far below the test tolerance.
    assert worst_gcj < 1e-9 and worst_bd < 1e-9, (worst_gcj, worst_bd)
    return {
        "generator": "tests/data/crs/gen_vectors.py",
        "source": "coord-convert 0.2.1 (wgs2gcj, wgs2bd), cross-checked with prcoords 1.0.2",
        "max_difference_between_sources_deg": {"gcj02": worst_gcj, "bd09": worst_bd},
        "order": "[lon, lat] in degrees",
        "points": points,
    }


def main():
    for name, doc in (("proj_vectors.json", proj_vectors()), ("chinese_vectors.json", chinese_vectors())):
        with open(os.path.join(HERE, name), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print("wrote", name)


if __name__ == "__main__":
    main()
