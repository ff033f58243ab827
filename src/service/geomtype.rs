//! One geometry type per served collection.
//!
//! Clients type a collection by its first features: GDAL's OGC API driver
//! declares its layer from the first page and warns about every feature of
//! another type after it (and writes a GeoPackage against its own
//! declaration). A layer that mixes single and multi geometries of one kind
//! (grids of an area in pieces: `Polygon` and `MultiPolygon`) is therefore
//! served, as an OGC collection, with every single geometry written as the
//! one-part multi geometry of the same ground. The stored text, and the
//! whole-layer download, stay exactly what the command line writes.
//!
//! The rewrite is three insertions into the stored text, found once when the
//! collection is loaded: `Multi` before the type name, `[` before the
//! coordinates and `]` after them.

use crate::store::StoredFeature;

/// Single types and the multi type each is served as.
const PAIRS: [(&str, &str); 3] = [
    ("Point", "MultiPoint"),
    ("LineString", "MultiLineString"),
    ("Polygon", "MultiPolygon"),
];

/// Where a feature's text gets its three insertions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Splice {
    feature: u32,
    /// The first letter of the type name.
    type_at: u32,
    /// The first byte of the coordinates value.
    coords_at: u32,
    /// Just past the coordinates value.
    coords_end: u32,
}

/// Bytes the insertions add to a feature.
const ADDED: usize = "Multi".len() + 2;

/// The type name and the splice points of a feature as the writers write it
/// (`"geometry":{"type":"T","coordinates":C}`); `None` for any other shape
/// (served as stored).
fn locate(json: &str) -> Option<(&str, usize, usize, usize)> {
    const GEOMETRY: &[u8] = b"\"geometry\":{\"type\":\"";
    const COORDS: &str = "\",\"coordinates\":";
    let b = json.as_bytes();
    let type_at = memchr::memmem::find(b, GEOMETRY)? + GEOMETRY.len();
    let name_len = memchr::memchr(b'"', &b[type_at..])?;
    let name = &json[type_at..type_at + name_len];
    let coords_at = type_at + name_len + COORDS.len();
    if json.get(type_at + name_len..coords_at)? != COORDS || b.get(coords_at) != Some(&b'[') {
        return None;
    }
    // Coordinates are numbers, commas and brackets: the value ends where its
    // brackets balance, and the geometry object right after it.
    let mut depth = 0usize;
    let mut end = None;
    for (k, &c) in b[coords_at..].iter().enumerate() {
        match c {
            b'[' => depth += 1,
            b']' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(coords_at + k + 1);
                    break;
                }
            }
            b'"' | b'{' | b'}' => return None,
            _ => {}
        }
    }
    let end = end?;
    (b.get(end) == Some(&b'}')).then_some((name, type_at, coords_at, end))
}

/// The features of a layer to serve as multi geometries, in feature order:
/// none unless the layer mixes a single type with its multi type.
pub fn splices(features: &[StoredFeature]) -> Vec<Splice> {
    let mut seen = [[false; 2]; 3];
    for f in features {
        let Some((name, ..)) = locate(&f.json) else {
            continue;
        };
        for (k, (single, multi)) in PAIRS.iter().enumerate() {
            seen[k][0] |= name == *single;
            seen[k][1] |= name == *multi;
        }
    }
    let mixed: Vec<&str> = PAIRS
        .iter()
        .zip(seen)
        .filter(|(_, [single, multi])| *single && *multi)
        .map(|((single, _), _)| *single)
        .collect();
    if mixed.is_empty() {
        return Vec::new();
    }
    features
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let (name, type_at, coords_at, end) = locate(&f.json)?;
            mixed.contains(&name).then_some(Splice {
                feature: i as u32,
                type_at: type_at as u32,
                coords_at: coords_at as u32,
                coords_end: end as u32,
            })
        })
        .collect()
}

/// The splice of feature `i`, if it is served as a multi geometry.
pub fn find(splices: &[Splice], i: usize) -> Option<&Splice> {
    splices
        .binary_search_by_key(&i, |s| s.feature as usize)
        .ok()
        .map(|k| &splices[k])
}

/// The length of a feature as served.
pub fn served_len(json: &str, splice: Option<&Splice>) -> usize {
    json.len() + splice.map_or(0, |_| ADDED)
}

/// Appends a feature as served.
pub fn write(out: &mut Vec<u8>, json: &str, splice: Option<&Splice>) {
    let b = json.as_bytes();
    match splice {
        None => out.extend_from_slice(b),
        Some(s) => {
            let (t, c, e) = (
                s.type_at as usize,
                s.coords_at as usize,
                s.coords_end as usize,
            );
            out.extend_from_slice(&b[..t]);
            out.extend_from_slice(b"Multi");
            out.extend_from_slice(&b[t..c]);
            out.push(b'[');
            out.extend_from_slice(&b[c..e]);
            out.push(b']');
            out.extend_from_slice(&b[e..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(geometry: &str) -> StoredFeature {
        StoredFeature {
            id: "1".into(),
            bbox: [0.0; 4],
            json: format!(
                "{{\"type\":\"Feature\",\"id\":\"1\",\"geometry\":{geometry},\"properties\":{{\"n\":\"]\"}}}}"
            )
            .into(),
        }
    }

    #[test]
    fn only_mixed_layers_are_promoted_and_the_text_stays_valid() {
        let poly = "{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}";
        let multi = "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[2,2],[3,2],[3,3],[2,2]]]]}";
        let point = "{\"type\":\"Point\",\"coordinates\":[1.5,-2e-3]}";
        assert!(splices(&[feature(poly), feature(poly)]).is_empty());
        assert!(splices(&[feature(poly), feature(point)]).is_empty());
        let feats = [
            feature(multi),
            feature(poly),
            feature("null"),
            feature(poly),
        ];
        let sp = splices(&feats);
        assert_eq!(sp.iter().map(|s| s.feature).collect::<Vec<_>>(), [1, 3]);
        assert!(find(&sp, 0).is_none() && find(&sp, 2).is_none());
        let s = find(&sp, 1);
        let mut out = Vec::new();
        write(&mut out, &feats[1].json, s);
        assert_eq!(out.len(), served_len(&feats[1].json, s));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["geometry"]["type"], "MultiPolygon");
        assert_eq!(
            v["geometry"]["coordinates"],
            serde_json::json!([[[[0, 0], [1, 0], [1, 1], [0, 0]]]])
        );
        assert_eq!(v["properties"]["n"], "]");
        // Points and lines alike.
        let mp = "{\"type\":\"MultiPoint\",\"coordinates\":[[0,0]]}";
        let sp = splices(&[feature(point), feature(mp)]);
        let mut out = Vec::new();
        write(&mut out, &feature(point).json, find(&sp, 0));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["geometry"]["coordinates"],
            serde_json::json!([[1.5, -2e-3]])
        );
    }
}
