#!/usr/bin/env python3
"""Writes the bad-input corpus: each file breaks one rule of the contract.

MANIFEST.tsv lists file, layer, expected words in the one-line reason, and the
feature index the reason must name (or - for file-level problems).
"""
import json, os

HERE = os.path.dirname(os.path.abspath(__file__))
rows = []

def fc(features, **top):
    d = {"type": "FeatureCollection"}
    d.update(top)
    d["features"] = features
    return json.dumps(d)

def feat(geometry, props=None, **extra):
    f = {"type": "Feature", "geometry": geometry, "properties": props if props is not None else {}}
    f.update(extra)
    return f

def pt(x=118.3, y=32.3):
    return {"type": "Point", "coordinates": [x, y]}

SQ = [[118.30, 32.30], [118.31, 32.30], [118.31, 32.31], [118.30, 32.31], [118.30, 32.30]]
def poly(ring=SQ, holes=()):
    return {"type": "Polygon", "coordinates": [ring, *holes]}

GOOD_AREA = feat(poly(), {"code": "341102001001", "kind": "urban"})
GOOD_HH = feat(pt(), {"households": 3})
GOOD_CAM = feat(pt(), {"id": "c1", "type": "dome", "range_m": 40})

def write(name, layer, text, expect, feature="-", mode="w"):
    path = os.path.join(HERE, name)
    with open(path, "wb") as f:
        f.write(text if isinstance(text, bytes) else text.encode("utf-8"))
    rows.append((name, layer, expect, str(feature)))

# File-level problems.
write("not_json.geojson", "households", "hello, planner", "not valid JSON")
write("empty_file.geojson", "households", "", "empty")
write("not_utf8.geojson", "households", b'{"type":"FeatureCollection","features":[\xff\xfe]}', "not valid UTF-8")
good_text = fc([GOOD_HH, GOOD_HH, GOOD_HH])
write("truncated.geojson", "households", good_text[: len(good_text) - 40], "in or after feature 2")
write("truncated_in_header.geojson", "households", '{"type":"FeatureColl', "not valid JSON")
write("top_array.geojson", "households", json.dumps([GOOD_HH]), "expected a GeoJSON FeatureCollection, found a JSON array")
write("top_feature.geojson", "households", json.dumps(GOOD_HH), "found a Feature")
write("top_geometry.geojson", "households", json.dumps(pt()), "found a Point")
write("top_number.geojson", "households", "42", "found a JSON scalar")
write("empty_collection.geojson", "households", fc([]), "has no features")
write("no_features_member.geojson", "households", '{"type":"FeatureCollection"}', 'without a "features" array')
write("nan_coordinate.geojson", "households",
      '{"type":"FeatureCollection","features":[%s,{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,32.3]},"properties":{}}]}' % json.dumps(GOOD_HH),
      "not valid JSON")
write("infinity_coordinate.geojson", "households",
      '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[Infinity,32.3]},"properties":{}}]}',
      "not valid JSON")
write("huge_number.geojson", "households",
      '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,32.3]},"properties":{}}]}',
      "number out of range", 0)
write("unknown_crs_member.geojson", "households",
      fc([GOOD_HH], crs={"type": "name", "properties": {"name": "EPSG:999999"}}), "999999")
write("malformed_crs_member.geojson", "households",
      fc([GOOD_HH], crs={"type": "name", "properties": {"nom": "EPSG:4549"}}), "crs")

# Feature-level problems (the second feature is the bad one: index 1).
def bad(name, layer, good, badf, expect):
    write(name, layer, fc([good, badf]), expect, 1)

bad("lon_out_of_range.geojson", "households", GOOD_HH, feat(pt(200.0, 32.3)), "outside longitude")
bad("lat_out_of_range.geojson", "households", GOOD_HH, feat(pt(118.3, 95.0)), "outside longitude -180..180 / latitude -90..90")
bad("projected_without_crs.geojson", "households", GOOD_HH, feat(pt(330409.9, 3573769.7)), "--crs")
bad("position_too_short.geojson", "households", GOOD_HH, feat({"type": "Point", "coordinates": [118.3]}), "position")
bad("string_coordinate.geojson", "households", GOOD_HH, feat({"type": "Point", "coordinates": ["118.3", 32.3]}), "malformed")
bad("null_geometry.geojson", "households", GOOD_HH, feat(None), "missing or null")
bad("geometry_collection.geojson", "households", GOOD_HH, feat({"type": "GeometryCollection", "geometries": [pt()]}), "GeometryCollection")
bad("unknown_geometry_type.geojson", "households", GOOD_HH, feat({"type": "Circle", "coordinates": [118.3, 32.3]}), "malformed")
bad("wrong_feature_type.geojson", "households", GOOD_HH, {"type": "Feat", "geometry": pt(), "properties": {}}, 'expected "Feature"')
bad("feature_not_object.geojson", "households", GOOD_HH, 7, "not a GeoJSON Feature")
bad("properties_not_object.geojson", "households", GOOD_HH, {"type": "Feature", "geometry": pt(), "properties": 5}, "not an object")
bad("empty_multipoint.geojson", "households", GOOD_HH, feat({"type": "MultiPoint", "coordinates": []}), "no coordinates")
bad("households_negative.geojson", "households", GOOD_HH, feat(pt(), {"households": -3}), "whole number")
bad("households_fraction.geojson", "households", GOOD_HH, feat(pt(), {"households": 2.5}), "whole number")
bad("households_text.geojson", "households", GOOD_HH, feat(pt(), {"households": "many"}), "whole number")
bad("persons_negative.geojson", "households", GOOD_HH, feat(pt(), {"persons": -1}), "persons")
bad("household_polygon.geojson", "households", GOOD_HH, feat(poly()), "expected Point or MultiPoint")

ring_open = SQ[:-1]
bad("unclosed_ring.geojson", "areas", GOOD_AREA, feat(poly(ring_open), {"code": "2"}), "not closed")
bad("short_ring.geojson", "areas", GOOD_AREA, feat(poly([[118.3, 32.3], [118.31, 32.3], [118.3, 32.3]]), {"code": "2"}), "at least 4")
bowtie = [[118.30, 32.30], [118.31, 32.31], [118.31, 32.30], [118.30, 32.31], [118.30, 32.30]]
bad("self_intersecting_ring.geojson", "areas", GOOD_AREA, feat(poly(bowtie), {"code": "2"}), "self-intersection")
far_hole = [[118.40, 32.40], [118.40, 32.41], [118.41, 32.41], [118.41, 32.40], [118.40, 32.40]]
bad("hole_outside_shell.geojson", "areas", GOOD_AREA, feat(poly(SQ, [far_hole]), {"code": "2"}), "invalid")
bad("area_point.geojson", "areas", GOOD_AREA, feat(pt(), {"code": "2"}), "expected Polygon or MultiPolygon")
bad("area_missing_code.geojson", "areas", GOOD_AREA, feat(poly(), {"name": "x"}), 'required property "code"')
bad("area_duplicate_code.geojson", "areas", GOOD_AREA, feat(poly(), {"code": "341102001001"}), "duplicate area code")
bad("area_bad_kind.geojson", "areas", GOOD_AREA, feat(poly(), {"code": "2", "kind": "suburb"}), '"urban" or "rural"')
bad("area_code_object.geojson", "areas", GOOD_AREA, feat(poly(), {"code": {"x": 1}}), "code")

bad("camera_fov_zero.geojson", "cameras", GOOD_CAM, feat(pt(), {"type": "bullet", "azimuth_deg": 10, "fov_deg": 0}), "fov_deg")
bad("camera_fov_too_wide.geojson", "cameras", GOOD_CAM, feat(pt(), {"type": "dome", "fov_deg": 400}), "fov_deg")
bad("camera_range_negative.geojson", "cameras", GOOD_CAM, feat(pt(), {"type": "dome", "range_m": -5}), "range_m")
bad("camera_bullet_no_azimuth.geojson", "cameras", GOOD_CAM, feat(pt(), {"type": "bullet", "fov_deg": 60}), "azimuth_deg")
bad("camera_unknown_type.geojson", "cameras", GOOD_CAM, feat(pt(), {"type": "fisheye"}), '"type" must be')
bad("camera_online_text.geojson", "cameras", GOOD_CAM, feat(pt(), {"online": "yes"}), '"online"')
bad("camera_line.geojson", "cameras", GOOD_CAM, feat({"type": "LineString", "coordinates": [[118.3, 32.3], [118.4, 32.3]]}), "expected Point")
bad("barrier_polygon.geojson", "barriers", feat({"type": "LineString", "coordinates": [[118.3, 32.3], [118.4, 32.3]]}), feat(poly()), "expected LineString")
bad("building_point.geojson", "buildings", feat(poly()), feat(pt()), "expected Polygon")
bad("site_polygon.geojson", "sites", feat(pt()), feat(poly()), "expected Point")

with open(os.path.join(HERE, "MANIFEST.tsv"), "w") as f:
    f.write("file\tlayer\texpect\tfeature\n")
    for r in rows:
        f.write("\t".join(r) + "\n")
print(len(rows), "bad inputs")
