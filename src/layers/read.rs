//! The shared reading driver: scan the collection, then parse, reproject,
//! range-check and build every feature in parallel, collecting rejections.
//!
//! A feature the big-layer scan has already read ([`super::split`]) is not
//! parsed again; the others are parsed here, by the direct reader when they
//! have its common shape and otherwise by the checked path, which names every
//! problem.

use geo_types::Geometry;
use rayon::prelude::*;
use serde_json::value::RawValue;

use super::collection::{scan_collection, Depth, FeatureParts, RawFeature};
use super::direct;
use super::geometry::{check_range, parse_geometry, GeometryError};
use super::kinds::{LayerKind, ReadOptions};
use super::props::{id_text, Props};
use super::{LayerError, LayerReport, Rejection};
use crate::crs::Crs;
use crate::model::RawProperties;

/// One feature after the shared checks, handed to a layer's builder.
pub(super) struct Parsed<'a> {
    pub(super) index: usize,
    pub(super) geometry: Geometry<f64>,
    pub(super) props: Props<'a>,
    pub(super) raw_props: Option<&'a RawValue>,
    pub(super) id: Option<String>,
}

/// What a builder says about a feature: the items it yields, plus the defaults
/// and repairs it applied.
pub(super) struct Built<T> {
    pub(super) items: Items<T>,
    pub(super) notes: Vec<Note>,
}

/// Most features yield one item; a multi-part one may yield several.
pub(super) enum Items<T> {
    One(T),
    Many(Vec<T>),
}

pub(super) enum Note {
    Default(String),
    Repair(&'static str),
    /// A property read but not used by any engine.
    Ignored(&'static str),
}

pub(super) type BuildResult<T> = Result<Built<T>, String>;

/// Shared driver: scan, parse in parallel, reproject, range-check, build.
pub(super) fn read_with<T, F>(
    kind: LayerKind,
    text: &str,
    opts: &ReadOptions,
    build: F,
) -> Result<(Vec<T>, LayerReport), LayerError>
where
    T: Send,
    F: Fn(Parsed<'_>) -> BuildResult<T> + Sync,
{
    let collection = scan_collection(text, Depth::Direct)?;
    let crs = match (opts.crs, &collection.crs) {
        (Some(c), _) => c,
        (None, Some(member)) => Crs::from_geojson_member(member)?,
        (None, None) => Crs::Wgs84,
    };
    let crs_given = opts.crs.is_some() || collection.crs.is_some();
    let transform = crs.to_wgs84()?;

    // Each feature on its own, in parallel: parse, reproject, check, build.
    // Features without an `id` member take it from this property.
    let id_key = if kind == LayerKind::Areas {
        opts.fields.code.as_str()
    } else {
        opts.fields.id.as_str()
    };
    // The features are moved out, so geometry the scan read is handed on, not copied.
    let total = collection.features.len();
    let built: Vec<Result<Built<T>, Rejection>> = collection
        .features
        .into_par_iter()
        .enumerate()
        .map(|(index, f)| {
            let mut p = parse_feature(index, f, id_key)?;
            let id = p.id.clone();
            let reject = |reason: String| Rejection {
                index,
                id: id.clone(),
                row: None,
                reason,
            };
            if !transform.is_identity() {
                for_each_coord(&mut p.geometry, &mut |c: &mut geo_types::Coord<f64>| {
                    (c.x, c.y) = transform.convert(c.x, c.y)?;
                    Ok(())
                })
                .map_err(|e: crate::crs::CrsError| {
                    reject(GeometryError::Transform(e.to_string()).to_string())
                })?;
            }
            check_range(&p.geometry, crs_given).map_err(|e| reject(e.to_string()))?;
            build(p).map_err(reject)
        })
        .collect();

    let mut report = LayerReport {
        layer: kind.to_string(),
        crs: crs.to_string(),
        features: total,
        ..Default::default()
    };
    let mut items = Vec::with_capacity(built.len());
    for b in built {
        match b {
            Ok(b) => {
                report.accepted += 1;
                for n in b.notes {
                    match n {
                        Note::Default(d) => *report.defaults.entry(d).or_insert(0) += 1,
                        Note::Repair(r) => *report.repairs.entry(r.to_string()).or_insert(0) += 1,
                        Note::Ignored(r) => *report.ignored.entry(r.to_string()).or_insert(0) += 1,
                    }
                }
                match b.items {
                    Items::One(item) => items.push(item),
                    Items::Many(more) => items.extend(more),
                }
            }
            Err(r) => report.rejections.push(r),
        }
    }
    report.rejected = report.rejections.len();
    if let Some(origin) = &opts.origin {
        origin.apply(&mut report);
    }
    finish(items, report, opts.strict)
}

pub(super) fn finish<T>(
    items: Vec<T>,
    report: LayerReport,
    strict: bool,
) -> Result<(Vec<T>, LayerReport), LayerError> {
    if let Some(first) = report.rejections.first() {
        if strict {
            return Err(LayerError::Strict {
                rejected: report.rejected,
                total: report.features,
                first: first.clone(),
            });
        }
        if report.accepted == 0 {
            return Err(LayerError::NothingAccepted {
                rejected: report.rejected,
                first: first.clone(),
            });
        }
    }
    Ok((items, report))
}

/// One feature's geometry, properties and id, or why it is rejected.
pub(super) fn parse_feature<'a>(
    index: usize,
    feature: RawFeature<'a>,
    id_key: &str,
) -> Result<Parsed<'a>, Rejection> {
    let id_from = |id: Option<&serde_json::Value>, props: &Props<'_>| {
        id.and_then(id_text).or_else(|| props.id(id_key))
    };
    let raw = feature.raw;
    // Well-formed features take the one-pass route (during the scan, or here);
    // the rest are parsed again below, where every problem gets its name.
    let direct = feature
        .direct
        .map(|d| *d)
        .or_else(|| direct::read_feature(raw));
    if let Some(f) = direct {
        let raw_props = f.properties.filter(|r| r.get() != "null");
        if let Ok(props) = raw_props.map_or(Ok(Props::default()), |r| {
            serde_json::from_str::<Props<'a>>(r.get())
        }) {
            return Ok(Parsed {
                index,
                id: id_from(f.id.as_deref(), &props),
                geometry: f.geometry.0,
                props,
                raw_props,
            });
        }
    }
    let reject = |id: Option<String>, reason: String| Rejection {
        index,
        id,
        row: None,
        reason,
    };
    let parts: FeatureParts<'a> = serde_json::from_str(raw)
        .map_err(|e| reject(None, format!("not a GeoJSON Feature object: {}", short(&e))))?;
    if parts.kind.as_deref() != Some("Feature") {
        let found = parts.kind.as_deref().unwrap_or("nothing");
        return Err(reject(
            parts.id.as_ref().and_then(id_text),
            format!("\"type\" is {found:?}, expected \"Feature\""),
        ));
    }
    let raw_props = parts.properties.filter(|r| r.get() != "null");
    let props = match raw_props {
        None => Props::default(),
        Some(r) => serde_json::from_str::<Props<'a>>(r.get()).map_err(|e| {
            reject(
                parts.id.as_ref().and_then(id_text),
                format!("\"properties\" is not an object: {}", short(&e)),
            )
        })?,
    };
    let id = id_from(parts.id.as_ref(), &props);
    let geometry = parse_geometry(parts.geometry).map_err(|e| reject(id.clone(), e.to_string()))?;
    Ok(Parsed {
        index,
        geometry,
        props,
        raw_props,
        id,
    })
}

pub(super) type CoordFn<'f, E> = dyn FnMut(&mut geo_types::Coord<f64>) -> Result<(), E> + 'f;

/// Visits every position of a geometry mutably (the reader never builds
/// geometry collections, so no recursion is needed).
pub(super) fn for_each_coord<E>(g: &mut Geometry<f64>, f: &mut CoordFn<'_, E>) -> Result<(), E> {
    fn line<E>(l: &mut geo_types::LineString<f64>, f: &mut CoordFn<'_, E>) -> Result<(), E> {
        l.0.iter_mut().try_for_each(f)
    }
    fn polygon<E>(p: &mut geo_types::Polygon<f64>, f: &mut CoordFn<'_, E>) -> Result<(), E> {
        let empty = geo_types::Polygon::new(geo_types::LineString(vec![]), vec![]);
        let (mut exterior, mut interiors) = std::mem::replace(p, empty).into_inner();
        let result =
            line(&mut exterior, f).and_then(|_| interiors.iter_mut().try_for_each(|r| line(r, f)));
        *p = geo_types::Polygon::new(exterior, interiors);
        result
    }
    match g {
        Geometry::Point(p) => f(&mut p.0),
        Geometry::MultiPoint(mp) => mp.0.iter_mut().try_for_each(|p| f(&mut p.0)),
        Geometry::LineString(l) => line(l, f),
        Geometry::MultiLineString(ml) => ml.0.iter_mut().try_for_each(|l| line(l, f)),
        Geometry::Polygon(p) => polygon(p, f),
        Geometry::MultiPolygon(mp) => mp.0.iter_mut().try_for_each(|p| polygon(p, f)),
        _ => Ok(()),
    }
}

pub(super) fn short(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.split(" at line ").next().unwrap_or(&s).to_string()
}

pub(super) fn keep_raw(raw: Option<&RawValue>) -> RawProperties {
    raw.map(|r| r.to_owned())
}

#[cfg(test)]
mod tests {
    use super::super::collection::Depth;
    use super::super::split::{split_collection, PARALLEL_FROM};
    use super::super::{read_households, ReadOptions};

    /// A big layer read on several threads (split scan, features read during the
    /// scan) gives exactly what the sequential scan gives: the same items, and
    /// the same rejections with the same words.
    #[test]
    fn features_read_during_the_scan_agree_with_the_sequential_path() {
        let odd = [
            r#"{"type":"Feature","properties":{"id":"n"},"geometry":null}"#,
            r#"{"type":"Feature","properties":{"id":"c"},"geometry":{"coordinates":[117.1,32.1],"type":"Point"}}"#,
            r#"{"type":"Other","properties":{},"geometry":{"type":"Point","coordinates":[117.1,32.1]}}"#,
            r#"{"type":"Feature","properties":5,"geometry":{"type":"Point","coordinates":[117.1,32.1]}}"#,
            r#"{"type":"Feature","id":77,"properties":{"households":2},"geometry":{"type":"Point","coordinates":[117.1,32.1]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[117.1,32.1],[117.2,32.1]]}}"#,
            r#"{"type":"Feature","properties":{"id":"m"},"geometry":{"type":"MultiPoint","coordinates":[[117.1,32.1],[117.2,32.1]]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[200,32.1]}}"#,
            r#"{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e999,32.1]}}"#,
            r#"{"type":"Feature","properties":{"households":-1},"geometry":{"type":"Point","coordinates":[117.1,32.1]}}"#,
            "3",
        ];
        let mut features = Vec::new();
        let mut len = 0;
        for i in 0.. {
            let f = match odd.get(i % 997) {
                Some(o) => o.to_string(),
                None => format!(
                    r#"{{"type":"Feature","properties":{{"id":"h{i}","persons":{}}},"geometry":{{"type":"Point","coordinates":[117.{i},32.1]}}}}"#,
                    i % 5
                ),
            };
            len += f.len() + 2;
            features.push(f);
            if len > PARALLEL_FROM + (1 << 20) {
                break;
            }
        }
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",\n")
        );
        let read_on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let (items, report) = pool
                .install(|| read_households(&text, &ReadOptions::default()))
                .unwrap();
            format!("{items:?}\n{report:?}")
        };
        let split = split_collection(&text, Depth::Direct).expect("the split applies");
        assert!(split.features[0].direct.is_none() && split.features[odd.len()].direct.is_some());
        drop(split);
        let parallel = read_on(4);
        assert!(parallel.contains("Other"), "{}", &parallel[..200]);
        assert_eq!(parallel, read_on(1));
    }
}
