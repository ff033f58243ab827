//! Second pass: every feature of a layer into its model type, in parallel.
//!
//! Each layer kind has a small builder that checks the geometry type and the
//! contract's properties; the shared machinery parses, reprojects, checks
//! ranges, collects rejections and applies `strict`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use geo_types::{Geometry, MultiLineString, MultiPolygon, Point};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use super::collection::{parse_collection, FeatureParts};
use super::geometry::{check_range, clean_polygons, parse_geometry, type_name, GeometryError};
use super::props::Props;
use super::{FieldNames, LayerError, LayerReport, Rejection};
use crate::crs::Crs;
use crate::model::{
    Area, AreaKind, Barrier, Building, Camera, CameraType, Candidate, Household, RawProperties,
    Site,
};

/// The layer kinds of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    Areas,
    Households,
    Cameras,
    Buildings,
    Barriers,
    Sites,
    Candidates,
}

impl LayerKind {
    pub const ALL: [LayerKind; 7] = [
        LayerKind::Areas,
        LayerKind::Households,
        LayerKind::Cameras,
        LayerKind::Buildings,
        LayerKind::Barriers,
        LayerKind::Sites,
        LayerKind::Candidates,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LayerKind::Areas => "areas",
            LayerKind::Households => "households",
            LayerKind::Cameras => "cameras",
            LayerKind::Buildings => "buildings",
            LayerKind::Barriers => "barriers",
            LayerKind::Sites => "sites",
            LayerKind::Candidates => "candidates",
        }
    }
}

impl fmt::Display for LayerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LayerKind {
    type Err = LayerError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LayerKind::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| LayerError::UnknownKind(s.to_string()))
    }
}

/// Camera fields filled in when a feature leaves them out. Reported back in the
/// layer report each time one is used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraDefaults {
    /// Field of view of a bullet camera without `fov_deg`.
    pub bullet_fov_deg: f64,
    pub bullet_range_m: f64,
    pub dome_range_m: f64,
    pub ptz_range_m: f64,
}

impl Default for CameraDefaults {
    /// Typical township hardware: a 4 mm bullet sees about 60° and identifies a
    /// person at 50 m; a fixed dome about 30 m all round; a PTZ about 100 m.
    fn default() -> Self {
        CameraDefaults {
            bullet_fov_deg: 60.0,
            bullet_range_m: 50.0,
            dome_range_m: 30.0,
            ptz_range_m: 100.0,
        }
    }
}

/// How to read a layer.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// The CRS of the coordinates; overrides a legacy `crs` member. WGS84 when
    /// neither is given.
    pub crs: Option<Crs>,
    /// Reject the whole layer if any feature is rejected.
    pub strict: bool,
    pub fields: FieldNames,
    pub camera_defaults: CameraDefaults,
}

/// Any layer, for callers that pick the kind at run time.
#[derive(Debug, Clone)]
pub enum AnyLayer {
    Areas(Vec<Area>),
    Households(Vec<Household>),
    Cameras(Vec<Camera>),
    Buildings(Vec<Building>),
    Barriers(Vec<Barrier>),
    Sites(Vec<Site>),
    Candidates(Vec<Candidate>),
}

/// Reads a layer of the given kind.
pub fn read_layer(
    kind: LayerKind,
    text: &str,
    opts: &ReadOptions,
) -> Result<(AnyLayer, LayerReport), LayerError> {
    Ok(match kind {
        LayerKind::Areas => read_areas(text, opts).map(|(v, r)| (AnyLayer::Areas(v), r))?,
        LayerKind::Households => {
            read_households(text, opts).map(|(v, r)| (AnyLayer::Households(v), r))?
        }
        LayerKind::Cameras => read_cameras(text, opts).map(|(v, r)| (AnyLayer::Cameras(v), r))?,
        LayerKind::Buildings => {
            read_buildings(text, opts).map(|(v, r)| (AnyLayer::Buildings(v), r))?
        }
        LayerKind::Barriers => {
            read_barriers(text, opts).map(|(v, r)| (AnyLayer::Barriers(v), r))?
        }
        LayerKind::Sites => read_sites(text, opts).map(|(v, r)| (AnyLayer::Sites(v), r))?,
        LayerKind::Candidates => {
            read_candidates(text, opts).map(|(v, r)| (AnyLayer::Candidates(v), r))?
        }
    })
}

/// One feature after the shared checks, handed to a layer's builder.
struct Parsed<'a> {
    index: usize,
    geometry: Geometry<f64>,
    props: Props<'a>,
    raw_props: Option<&'a RawValue>,
    id: Option<String>,
}

/// What a builder says about a feature: the items it yields, plus the defaults
/// and repairs it applied.
struct Built<T> {
    items: Vec<T>,
    notes: Vec<Note>,
}

enum Note {
    Default(String),
    Repair(&'static str),
}

type BuildResult<T> = Result<Built<T>, String>;

/// Shared driver: scan, parse in parallel, reproject, range-check, build.
fn read_with<T, F>(
    kind: LayerKind,
    text: &str,
    opts: &ReadOptions,
    build: F,
) -> Result<(Vec<T>, LayerReport), LayerError>
where
    T: Send,
    F: Fn(Parsed<'_>) -> BuildResult<T> + Sync,
{
    let collection = parse_collection(text)?;
    let crs = match (opts.crs, &collection.crs) {
        (Some(c), _) => c,
        (None, Some(member)) => Crs::from_geojson_member(member)?,
        (None, None) => Crs::Wgs84,
    };
    let crs_given = opts.crs.is_some() || collection.crs.is_some();
    let transform = crs.to_wgs84()?;

    // Each feature on its own, in parallel: parse, reproject, check, build.
    let id_field = opts.fields.id.as_str();
    let code_field = opts.fields.code.as_str();
    let built: Vec<Result<Built<T>, Rejection>> = collection
        .features
        .par_iter()
        .enumerate()
        .map(|(index, f)| {
            let mut p = parse_feature(index, f.raw, kind, id_field, code_field)?;
            let id = p.id.clone();
            let reject = |reason: String| Rejection {
                index,
                id: id.clone(),
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
        features: collection.features.len(),
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
                    }
                }
                items.extend(b.items);
            }
            Err(r) => report.rejections.push(r),
        }
    }
    report.rejected = report.rejections.len();
    finish(items, report, opts.strict)
}

fn finish<T>(
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

fn parse_feature<'a>(
    index: usize,
    raw: &'a RawValue,
    kind: LayerKind,
    id_field: &str,
    code_field: &str,
) -> Result<Parsed<'a>, Rejection> {
    let reject = |id: Option<String>, reason: String| Rejection { index, id, reason };
    let parts: FeatureParts<'a> = serde_json::from_str(raw.get())
        .map_err(|e| reject(None, format!("not a GeoJSON Feature object: {}", short(&e))))?;
    let mut id = parts.id.as_ref().and_then(id_text);
    if parts.kind.as_deref() != Some("Feature") {
        let found = parts.kind.as_deref().unwrap_or("nothing");
        return Err(reject(
            id,
            format!("\"type\" is {found:?}, expected \"Feature\""),
        ));
    }
    let props = match parts.properties {
        None => Props::default(),
        Some(r) if r.get() == "null" => Props::default(),
        Some(r) => serde_json::from_str::<Props<'a>>(r.get()).map_err(|e| {
            reject(
                id.clone(),
                format!("\"properties\" is not an object: {}", short(&e)),
            )
        })?,
    };
    if id.is_none() {
        let key = if kind == LayerKind::Areas {
            code_field
        } else {
            id_field
        };
        id = props.get(key).as_ref().and_then(id_text);
    }
    let geometry = parse_geometry(parts.geometry).map_err(|e| reject(id.clone(), e.to_string()))?;
    let raw_props = parts.properties.filter(|r| r.get() != "null");
    Ok(Parsed {
        index,
        geometry,
        props,
        raw_props,
        id,
    })
}

type CoordFn<'f, E> = dyn FnMut(&mut geo_types::Coord<f64>) -> Result<(), E> + 'f;

/// Visits every position of a geometry mutably (the reader never builds
/// geometry collections, so no recursion is needed).
fn for_each_coord<E>(g: &mut Geometry<f64>, f: &mut CoordFn<'_, E>) -> Result<(), E> {
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

fn short(e: &serde_json::Error) -> String {
    let s = e.to_string();
    s.split(" at line ").next().unwrap_or(&s).to_string()
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(
            integral(n)
                .map(|i| i.to_string())
                .unwrap_or_else(|| n.to_string()),
        ),
        _ => None,
    }
}

/// A JSON number as an integer, accepting `124.0` (common in exported tables).
fn integral(n: &serde_json::Number) -> Option<i64> {
    n.as_i64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
            .map(|f| f as i64)
    })
}

fn keep_raw(raw: Option<&RawValue>) -> RawProperties {
    raw.map(|r| r.to_owned())
}

fn wrong_type(g: &Geometry<f64>, expected: &'static str) -> String {
    GeometryError::WrongType {
        found: type_name(g).into(),
        expected,
    }
    .to_string()
}

/// An optional non-negative integer property.
fn count_field(props: &Props<'_>, name: &str) -> Result<Option<u32>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match integral(n) {
            Some(i) if (0..=u32::MAX as i64).contains(&i) => Ok(Some(i as u32)),
            _ => Err(format!("{name:?} must be a whole number ≥ 0, got {n}")),
        },
        Some(other) => Err(format!("{name:?} must be a whole number ≥ 0, got {other}")),
    }
}

fn text_field(props: &Props<'_>, name: &str) -> Result<Option<String>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!("{name:?} must be text, got {other}")),
    }
}

fn number_field(props: &Props<'_>, name: &str) -> Result<Option<f64>, String> {
    match props.get(name).as_ref() {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(Some)
            .ok_or_else(|| format!("{name:?} is not a usable number")),
        Some(other) => Err(format!("{name:?} must be a number, got {other}")),
    }
}

fn polygons(g: Geometry<f64>, notes: &mut Vec<Note>) -> Result<MultiPolygon<f64>, String> {
    let mp = match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(mp) => mp,
        other => return Err(wrong_type(&other, "Polygon or MultiPolygon")),
    };
    let mut repairs = Vec::new();
    let mp = clean_polygons(mp, &mut repairs).map_err(|e| e.to_string())?;
    notes.extend(repairs.into_iter().map(Note::Repair));
    Ok(mp)
}

fn point(g: Geometry<f64>) -> Result<Point<f64>, String> {
    match g {
        Geometry::Point(p) => Ok(p),
        other => Err(wrong_type(&other, "Point")),
    }
}

/// Reads village/community boundaries. Codes must be present and unique.
pub fn read_areas(text: &str, opts: &ReadOptions) -> Result<(Vec<Area>, LayerReport), LayerError> {
    let f = &opts.fields;
    let (areas, mut report) = read_with(LayerKind::Areas, text, opts, |p| {
        let code = match p.props.get(&f.code).as_ref() {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(Value::Number(n)) if integral(n).is_some_and(|i| i >= 0) => {
                integral(n).unwrap_or_default().to_string()
            }
            None | Some(Value::Null) => {
                return Err(format!(
                    "required property {:?} (the area code) is missing",
                    f.code
                ))
            }
            Some(other) => {
                return Err(format!(
                    "{:?} must be a non-empty string or whole number, got {other}",
                    f.code
                ))
            }
        };
        let name = text_field(&p.props, &f.name)?;
        let mut notes = Vec::new();
        let kind = match p.props.get(&f.kind).as_ref() {
            None | Some(Value::Null) => {
                notes.push(Note::Default("kind=urban".into()));
                AreaKind::Urban
            }
            Some(Value::String(s)) if s.eq_ignore_ascii_case("urban") => AreaKind::Urban,
            Some(Value::String(s)) if s.eq_ignore_ascii_case("rural") => AreaKind::Rural,
            Some(other) => {
                return Err(format!(
                    "{:?} must be \"urban\" or \"rural\", got {other}",
                    f.kind
                ))
            }
        };
        let geometry = polygons(p.geometry, &mut notes)?;
        Ok(Built {
            items: vec![(
                p.index,
                Area {
                    code,
                    name,
                    kind,
                    geometry,
                    properties: keep_raw(p.raw_props),
                },
            )],
            notes,
        })
    })?;
    // Codes are unique: the first feature with a code keeps it.
    let mut first_with: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(areas.len());
    for (index, area) in areas {
        if let Some(&first) = first_with.get(&area.code) {
            report.rejections.push(Rejection {
                index,
                id: Some(area.code.clone()),
                reason: format!(
                    "duplicate area code {} (already used by feature {first})",
                    area.code
                ),
            });
            report.accepted -= 1;
        } else {
            first_with.insert(area.code.clone(), index);
            kept.push(area);
        }
    }
    report.rejections.sort_by_key(|r| r.index);
    report.rejected = report.rejections.len();
    finish(kept, report, opts.strict)
}

/// Reads household points; a MultiPoint yields one household record per point,
/// each with the feature's counts.
pub fn read_households(
    text: &str,
    opts: &ReadOptions,
) -> Result<(Vec<Household>, LayerReport), LayerError> {
    let f = &opts.fields;
    read_with(LayerKind::Households, text, opts, |p| {
        let mut notes = Vec::new();
        let households = match count_field(&p.props, &f.households)? {
            Some(n) => n,
            None => {
                notes.push(Note::Default("households=1".into()));
                1
            }
        };
        let persons = count_field(&p.props, &f.persons)?;
        let points = match p.geometry {
            Geometry::Point(pt) => vec![pt],
            Geometry::MultiPoint(mp) => mp.0,
            other => return Err(wrong_type(&other, "Point or MultiPoint")),
        };
        let raw = keep_raw(p.raw_props);
        let items = points
            .into_iter()
            .map(|location| Household {
                location,
                households,
                persons,
                id: p.id.clone(),
                feature: p.index,
                properties: raw.clone(),
            })
            .collect();
        Ok(Built { items, notes })
    })
}

/// Reads cameras, filling documented defaults for missing fields.
pub fn read_cameras(
    text: &str,
    opts: &ReadOptions,
) -> Result<(Vec<Camera>, LayerReport), LayerError> {
    let d = opts.camera_defaults;
    read_with(LayerKind::Cameras, text, opts, |p| {
        let mut notes = Vec::new();
        let location = point(p.geometry)?;
        let id = match &p.id {
            Some(id) => id.clone(),
            None => {
                notes.push(Note::Default("id=feature index".into()));
                format!("camera-{}", p.index)
            }
        };
        let azimuth = number_field(&p.props, "azimuth_deg")?;
        if azimuth.is_some_and(|a| !a.is_finite()) {
            return Err("\"azimuth_deg\" must be finite".into());
        }
        let camera_type = match text_field(&p.props, "type")? {
            Some(t) => match t.to_ascii_lowercase().as_str() {
                "dome" => CameraType::Dome,
                "bullet" => CameraType::Bullet,
                "ptz" => CameraType::Ptz,
                _ => {
                    return Err(format!(
                        "\"type\" must be \"dome\", \"bullet\" or \"ptz\", got {t:?}"
                    ))
                }
            },
            None if azimuth.is_some() => {
                notes.push(Note::Default("type=bullet (has azimuth_deg)".into()));
                CameraType::Bullet
            }
            None => {
                notes.push(Note::Default("type=dome (no azimuth_deg)".into()));
                CameraType::Dome
            }
        };
        let fov_deg = match number_field(&p.props, "fov_deg")? {
            Some(v) if v > 0.0 && v <= 360.0 => v,
            Some(v) => return Err(format!("\"fov_deg\" must be in (0, 360], got {v}")),
            None => {
                let v = if camera_type == CameraType::Bullet {
                    d.bullet_fov_deg
                } else {
                    360.0
                };
                notes.push(Note::Default(format!(
                    "fov_deg={v} ({})",
                    type_label(camera_type)
                )));
                v
            }
        };
        if fov_deg < 360.0 && azimuth.is_none() {
            return Err(format!(
                "a {} camera seeing {fov_deg}° needs \"azimuth_deg\"",
                type_label(camera_type)
            ));
        }
        let range_m = match number_field(&p.props, "range_m")? {
            Some(v) if v > 0.0 && v.is_finite() => v,
            Some(v) => {
                return Err(format!(
                    "\"range_m\" must be a positive number of metres, got {v}"
                ))
            }
            None => {
                let v = match camera_type {
                    CameraType::Bullet => d.bullet_range_m,
                    CameraType::Dome => d.dome_range_m,
                    CameraType::Ptz => d.ptz_range_m,
                };
                notes.push(Note::Default(format!(
                    "range_m={v} ({})",
                    type_label(camera_type)
                )));
                v
            }
        };
        let online = match p.props.get("online").as_ref() {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) if integral(n) == Some(0) => false,
            Some(Value::Number(n)) if integral(n) == Some(1) => true,
            Some(other) => return Err(format!("\"online\" must be true or false, got {other}")),
        };
        let height_m = number_field(&p.props, "height_m")?;
        let camera = Camera {
            id,
            location,
            camera_type,
            azimuth_deg: azimuth.unwrap_or(0.0).rem_euclid(360.0),
            fov_deg,
            range_m,
            online,
            height_m,
            feature: p.index,
            properties: keep_raw(p.raw_props),
        };
        Ok(Built {
            items: vec![camera],
            notes,
        })
    })
}

fn type_label(t: CameraType) -> &'static str {
    match t {
        CameraType::Dome => "dome",
        CameraType::Bullet => "bullet",
        CameraType::Ptz => "ptz",
    }
}

/// Reads building footprints (occluders).
pub fn read_buildings(
    text: &str,
    opts: &ReadOptions,
) -> Result<(Vec<Building>, LayerReport), LayerError> {
    read_with(LayerKind::Buildings, text, opts, |p| {
        let mut notes = Vec::new();
        let geometry = polygons(p.geometry, &mut notes)?;
        Ok(Built {
            items: vec![Building {
                geometry,
                feature: p.index,
            }],
            notes,
        })
    })
}

/// Reads roads, rivers and railways that grids should not straddle.
pub fn read_barriers(
    text: &str,
    opts: &ReadOptions,
) -> Result<(Vec<Barrier>, LayerReport), LayerError> {
    read_with(LayerKind::Barriers, text, opts, |p| {
        let geometry = match p.geometry {
            Geometry::LineString(l) => MultiLineString(vec![l]),
            Geometry::MultiLineString(m) => m,
            other => return Err(wrong_type(&other, "LineString or MultiLineString")),
        };
        let kind = text_field(&p.props, "kind")?;
        Ok(Built {
            items: vec![Barrier {
                geometry,
                kind,
                feature: p.index,
            }],
            notes: vec![],
        })
    })
}

/// Reads key sites that must be watched.
pub fn read_sites(text: &str, opts: &ReadOptions) -> Result<(Vec<Site>, LayerReport), LayerError> {
    read_with(LayerKind::Sites, text, opts, |p| {
        let location = point(p.geometry)?;
        let kind = text_field(&p.props, "kind")?;
        let name = text_field(&p.props, &opts.fields.name)?;
        Ok(Built {
            items: vec![Site {
                location,
                kind,
                name,
                feature: p.index,
                properties: keep_raw(p.raw_props),
            }],
            notes: vec![],
        })
    })
}

/// Reads candidate sites for new cameras.
pub fn read_candidates(
    text: &str,
    opts: &ReadOptions,
) -> Result<(Vec<Candidate>, LayerReport), LayerError> {
    read_with(LayerKind::Candidates, text, opts, |p| {
        let location = point(p.geometry)?;
        Ok(Built {
            items: vec![Candidate {
                location,
                feature: p.index,
                properties: keep_raw(p.raw_props),
            }],
            notes: vec![],
        })
    })
}
