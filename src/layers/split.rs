//! The scan of a big FeatureCollection, on every core.
//!
//! Finding where each feature starts and ends means reading every byte, which on
//! one core is a fifth of a big layer's reading time. This pass guesses places to
//! cut the features array: the `{` before `"type": "Feature"`, which in valid
//! JSON can only be the start of an object (inside a string the quote before
//! `type` would end the string and leave `type` bare). It scans the pieces in
//! parallel, each element fully checked by serde_json, and accepts the result
//! only if every piece ends exactly where the next begins. A guess inside a
//! nested object, any syntax error, or anything unusual at the top level gives
//! `None`, and the caller scans sequentially, which also names any error.
//!
//! Since every byte is read here anyway, at [`Depth::Direct`] each element is
//! read with the direct reader ([`super::direct`]) and kept, its extent taken
//! from where the reader stopped, so the layer reader does not parse it again.
//! An element the direct reader gives up on is scanned again from its start as
//! plain JSON, which checks it as before; the checked path parses it later.

use std::borrow::Cow;

use rayon::prelude::*;
use serde::de::{Deserialize, IgnoredAny};
use serde_json::value::RawValue;

use super::collection::{Collection, Depth, RawFeature};
use super::direct::DirectFeature;

/// Layers smaller than this are scanned on one core.
pub(super) const PARALLEL_FROM: usize = 8 << 20;

/// Splits a FeatureCollection (starting at its `{`), reading features as deep
/// as `depth`, or `None` when the sequential scan must do it.
pub(super) fn split_collection(text: &str, depth: Depth) -> Option<Collection<'_>> {
    let b = text.as_bytes();
    let mut pos = expect(b, 0, b'{')?;
    let (mut kind, mut features, mut crs) = (None, None, None);
    loop {
        let (key, after_key) = one_value::<Cow<'_, str>>(text, ws(b, pos))?;
        pos = ws(b, expect(b, ws(b, after_key), b':')?);
        pos = match key.as_ref() {
            "features" if features.is_none() => {
                let (f, end) = split_array(text, pos, depth)?;
                features = Some(f);
                end
            }
            "type" => {
                let (k, end) = one_value::<Cow<'_, str>>(text, pos)?;
                kind = Some(k);
                end
            }
            "crs" => {
                let (c, end) = one_value::<&RawValue>(text, pos)?;
                crs = Some(c);
                end
            }
            "features" => return None,
            _ => one_value::<IgnoredAny>(text, pos)?.1,
        };
        pos = ws(b, pos);
        match b.get(pos)? {
            b',' => pos += 1,
            b'}' => break,
            _ => return None,
        }
    }
    if ws(b, pos + 1) != b.len() || kind.as_deref() != Some("FeatureCollection") {
        return None;
    }
    let features = features.filter(|f| !f.is_empty())?;
    let crs = match crs {
        Some(raw) => Some(serde_json::from_str(raw.get()).ok()?),
        None => None,
    };
    Some(Collection { features, crs })
}

/// The elements of the features array starting at `pos` (its `[`), and the
/// position after its `]`.
fn split_array(text: &str, pos: usize, depth: Depth) -> Option<(Vec<RawFeature<'_>>, usize)> {
    let b = text.as_bytes();
    let start = ws(b, expect(b, pos, b'[')?);
    let pieces = rayon::current_num_threads() * 4;
    let mut cuts = vec![start];
    for k in 1..pieces {
        let target = start + (b.len() - start) * k / pieces;
        if let Some(cut) = feature_start_from(b, target.max(cuts[cuts.len() - 1] + 1)) {
            cuts.push(cut);
        }
    }
    let scanned: Vec<Piece<'_>> = (0..cuts.len())
        .into_par_iter()
        .map(|i| scan_piece(text, cuts[i], cuts.get(i + 1).copied(), depth))
        .collect::<Option<_>>()?;
    // Sized up front: the pieces and the whole are both held while it fills.
    let mut features = Vec::with_capacity(scanned.iter().map(|p| p.features.len()).sum());
    let mut end = None;
    for (i, piece) in scanned.into_iter().enumerate() {
        let last = i + 1 == cuts.len();
        match (piece.end, last) {
            (PieceEnd::ArrayEnd(e), true) => end = Some(e),
            (PieceEnd::AtNextCut, false) => {}
            _ => return None,
        }
        features.extend(piece.features);
    }
    Some((features, end?))
}

/// Features scanned from one cut to the next.
struct Piece<'a> {
    features: Vec<RawFeature<'a>>,
    end: PieceEnd,
}

enum PieceEnd {
    /// The piece stopped exactly at the next cut.
    AtNextCut,
    /// The piece reached the array's `]`; the position after it.
    ArrayEnd(usize),
}

fn scan_piece<'a>(
    text: &'a str,
    from: usize,
    next_cut: Option<usize>,
    depth: Depth,
) -> Option<Piece<'a>> {
    let b = text.as_bytes();
    let mut features = Vec::new();
    let mut pos = from;
    loop {
        let (feature, end) = one_feature(text, pos, depth)?;
        features.push(feature);
        pos = ws(b, end);
        match b.get(pos)? {
            b',' => pos = ws(b, pos + 1),
            b']' => {
                return Some(Piece {
                    features,
                    end: PieceEnd::ArrayEnd(pos + 1),
                })
            }
            _ => return None,
        }
        match next_cut {
            Some(cut) if pos == cut => {
                return Some(Piece {
                    features,
                    end: PieceEnd::AtNextCut,
                })
            }
            Some(cut) if pos > cut => return None,
            _ => {}
        }
    }
}

/// The element at `pos` and the position after it: read by the direct reader
/// when `depth` asks for it and the element has the common shape, else only
/// checked as JSON, again from its start (the direct reader may have stopped
/// anywhere inside it).
fn one_feature(text: &str, pos: usize, depth: Depth) -> Option<(RawFeature<'_>, usize)> {
    if depth == Depth::Direct {
        if let Some((direct, end)) = one_value::<DirectFeature<'_>>(text, pos) {
            let raw = &text[pos..end];
            let direct = Some(Box::new(direct));
            return Some((RawFeature { raw, direct }, end));
        }
    }
    let (raw, end) = one_value::<&RawValue>(text, pos)?;
    let raw = raw.get();
    Some((RawFeature { raw, direct: None }, end))
}

/// The first `{` at or after `from` that opens an object whose first member is
/// `"type": "Feature"`.
fn feature_start_from(b: &[u8], from: usize) -> Option<usize> {
    let finder = memchr::memmem::Finder::new(b"\"Feature\"");
    let mut at = from;
    while let Some(i) = finder.find(&b[at..]) {
        let value = at + i;
        at = value + 1;
        let Some(colon) = back_ws(b, value).filter(|&c| b[c] == b':') else {
            continue;
        };
        let Some(key_end) = back_ws(b, colon) else {
            continue;
        };
        if key_end < 6 || &b[key_end - 5..=key_end] != b"\"type\"" {
            continue;
        }
        if let Some(open) = back_ws(b, key_end - 5).filter(|&o| b[o] == b'{' && o >= from) {
            return Some(open);
        }
    }
    None
}

/// The last non-whitespace position before `pos`.
fn back_ws(b: &[u8], pos: usize) -> Option<usize> {
    (0..pos).rev().find(|&i| !b[i].is_ascii_whitespace())
}

/// The first non-whitespace position from `pos` (or the end).
fn ws(b: &[u8], mut pos: usize) -> usize {
    while pos < b.len() && b[pos].is_ascii_whitespace() {
        pos += 1;
    }
    pos
}

/// The position after the byte `c` at `pos`.
fn expect(b: &[u8], pos: usize, c: u8) -> Option<usize> {
    (b.get(pos) == Some(&c)).then_some(pos + 1)
}

/// One JSON value at `pos` and the position after it.
fn one_value<'a, T: Deserialize<'a>>(text: &'a str, pos: usize) -> Option<(T, usize)> {
    let mut values = serde_json::Deserializer::from_str(text.get(pos..)?).into_iter::<T>();
    let value = values.next()?.ok()?;
    Some((value, pos + values.byte_offset()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTHS: [Depth; 2] = [Depth::Extent, Depth::Direct];

    fn collection(features: &[String], tail: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","name":"t","features":[{}]{tail}}}"#,
            features.join(",\n")
        )
    }

    fn feature(i: usize) -> String {
        format!(
            r#"{{"type": "Feature", "properties": {{"id": "{i}", "note": "{{\"type\":\"Feature\"}}"}}, "geometry": {{"type":"Point","coordinates":[{i}.5,1]}}}}"#
        )
    }

    /// The pieces put together are exactly the features the sequential scan
    /// finds; at `Depth::Direct` each one is also read.
    #[test]
    fn agrees_with_the_sequential_scan() {
        let features: Vec<String> = (0..2000).map(feature).collect();
        let text = collection(
            &features,
            r#","crs":{"type":"name","properties":{"name":"EPSG:4326"}}"#,
        );
        for depth in DEPTHS {
            let split = split_collection(&text, depth).expect("split");
            assert_eq!(split.features.len(), 2000);
            for (i, (f, want)) in split.features.iter().zip(&features).enumerate() {
                assert_eq!(f.raw, want);
                match (&f.direct, depth) {
                    (None, Depth::Extent) => {}
                    (Some(d), Depth::Direct) => {
                        let point = geo_types::Point::new(i as f64 + 0.5, 1.0);
                        assert_eq!(d.geometry.0, point.into());
                        assert!(d.properties.unwrap().get().contains(&format!("\"{i}\"")));
                    }
                    other => panic!("{depth:?}: {other:?}"),
                }
            }
            assert_eq!(split.crs.unwrap()["properties"]["name"], "EPSG:4326");
        }
    }

    /// Elements the direct reader gives up on keep their place and text, and
    /// are left unread for the checked path.
    #[test]
    fn keeps_what_the_direct_reader_gives_up_on() {
        let mut features: Vec<String> = (0..500).map(feature).collect();
        let odd = [
            r#"{"type":"Feature","properties":{},"geometry":null}"#,
            r#"{"type":"Feature","geometry":{"coordinates":[1,2],"type":"Point"}}"#,
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1e999,2]}}"#,
            r#"{"type":"Other","geometry":{"type":"Point","coordinates":[1,2]}}"#,
            r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"type":"Feature"}"#,
            "[1, 2]",
            "3",
        ];
        for (k, o) in odd.iter().enumerate() {
            features[k * 70 + 5] = o.to_string();
        }
        let text = collection(&features, "");
        let split = split_collection(&text, Depth::Direct).expect("split");
        assert_eq!(split.features.len(), 500);
        for (i, (f, want)) in split.features.iter().zip(&features).enumerate() {
            assert_eq!(f.raw, want);
            let is_odd = i % 70 == 5 && i / 70 < odd.len();
            assert_eq!(f.direct.is_none(), is_odd, "{i}: {want}");
        }
    }

    /// A guessed cut inside a feature (a nested Feature object) is noticed,
    /// also when the direct reader can read the nested one.
    #[test]
    fn a_cut_inside_a_feature_is_refused() {
        let inner =
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}"#;
        let nested =
            format!(r#"{{"type":"Feature","properties":{{"inner":{inner}}},"geometry":null}}"#);
        let mut features: Vec<String> = (0..200).map(feature).collect();
        for i in (0..200).step_by(3) {
            features[i] = nested.clone();
        }
        let text = collection(&features, "");
        let first = text.find('[').unwrap() + 1;
        let inner = text.find(inner).unwrap();
        assert_eq!(feature_start_from(text.as_bytes(), inner), Some(inner));
        for depth in DEPTHS {
            assert!(scan_piece(&text, first, Some(inner), depth).is_none());
            assert!(scan_piece(&text, inner, None, depth).is_none());
            if let Some(split) = split_collection(&text, depth) {
                assert_eq!(split.features.len(), 200);
                for (f, want) in split.features.iter().zip(&features) {
                    assert_eq!(f.raw, want);
                }
            }
        }
    }

    /// Anything the sequential scan would complain about gives up here.
    #[test]
    fn leaves_errors_to_the_sequential_scan() {
        let features: Vec<String> = (0..100).map(feature).collect();
        let good = collection(&features, "");
        for depth in DEPTHS {
            assert!(split_collection(&good, depth).is_some());
            for bad in [
                good.replacen(",\n", ",,", 1),
                good.replacen("[0.5,1]", "[0.5,1", 1),
                good.replacen("[0.5,1]}", "[0.5,1]", 1),
                good.replacen("[0.5,1]}}", "[0.5,1]}}}", 1),
                good.replacen("\"Feature\",", "\"Feature\"", 1),
                good.replace("FeatureCollection", "Feature"),
                good.clone() + "x",
                good.replacen("\"features\"", "\"features\":[],\"features\"", 1),
                collection(&[], ""),
            ] {
                assert!(split_collection(&bad, depth).is_none(), "{}", &bad[..80]);
            }
        }
    }
}
