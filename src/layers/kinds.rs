//! The layer kinds of the contract and their builders: each checks the
//! geometry type and the properties of one feature and yields model types.
//! The shared machinery (parse, reproject, range-check, reject) is in `read`.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use geo_types::{Geometry, MultiLineString, MultiPolygon, Point};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::geometry::{clean_polygons, type_name, GeometryError};
use super::props::{count_field, integral, number_field, text_field};
use super::read::{finish, keep_raw, read_with, Built, Items, Note};
use super::{FieldNames, LayerError, LayerReport, Rejection};
use crate::crs::Crs;
use crate::model::{
    Area, AreaKind, Barrier, Building, Camera, CameraType, Candidate, Household, Site,
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
    /// Set when the text was converted from another format
    /// (`layers::formats`): rejections then name the file's records and rows.
    pub origin: Option<std::sync::Arc<super::Origin>>,
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

fn wrong_type(g: &Geometry<f64>, expected: &'static str) -> String {
    GeometryError::WrongType {
        found: type_name(g).into(),
        expected,
    }
    .to_string()
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
            items: Items::One((
                p.index,
                Area {
                    code,
                    name,
                    kind,
                    geometry,
                    properties: keep_raw(p.raw_props),
                },
            )),
            notes,
        })
    })?;
    // Codes are unique: the first feature with a code keeps it.
    let mut first_with: HashMap<String, usize> = HashMap::new();
    let mut kept = Vec::with_capacity(areas.len());
    for (index, area) in areas {
        if let Some(&first) = first_with.get(&area.code) {
            // Converted files: name the file's records, as the other rejections do.
            let (index, row) = opts
                .origin
                .as_ref()
                .map_or((index, None), |o| o.locate(index));
            let (first, first_row) = opts
                .origin
                .as_ref()
                .map_or((first, None), |o| o.locate(first));
            let first = first_row.map_or(format!("feature {first}"), |r| format!("row {r}"));
            report.rejections.push(Rejection {
                index,
                id: Some(area.code.clone()),
                row,
                reason: format!(
                    "duplicate area code {} (already used by {first})",
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
        let household = |location, id, properties| Household {
            location,
            households,
            persons,
            id,
            feature: p.index,
            properties,
        };
        let properties = keep_raw(p.raw_props);
        let items = match p.geometry {
            Geometry::Point(pt) => Items::One(household(pt, p.id, properties)),
            Geometry::MultiPoint(mp) => Items::Many(
                mp.0.into_iter()
                    .map(|pt| household(pt, p.id.clone(), properties.clone()))
                    .collect(),
            ),
            other => return Err(wrong_type(&other, "Point or MultiPoint")),
        };
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
            Some(v) if v > 0.0 && v <= crate::bounds::MAX_RANGE_M => v,
            Some(v) if v > crate::bounds::MAX_RANGE_M && v.is_finite() => {
                return Err(format!(
                    "\"range_m\" {v} is past {} m, the farthest the coverage engine measures \
                     (in a local planar frame, within 3e-7 of the ellipsoid's distance up to there)",
                    crate::bounds::MAX_RANGE_M
                ))
            }
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
        if height_m.is_some() {
            notes.push(Note::Ignored(
                "height_m (sight lines are two-dimensional: a building blocks whatever its height)",
            ));
        }
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
            items: Items::One(camera),
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
            items: Items::One(Building {
                geometry,
                feature: p.index,
            }),
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
            items: Items::One(Barrier {
                geometry,
                kind,
                feature: p.index,
            }),
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
            items: Items::One(Site {
                location,
                kind,
                name,
                feature: p.index,
                properties: keep_raw(p.raw_props),
            }),
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
            items: Items::One(Candidate {
                location,
                feature: p.index,
                properties: keep_raw(p.raw_props),
            }),
            notes: vec![],
        })
    })
}

#[cfg(test)]
mod tests {
    use crate::layers::{read_cameras, ReadOptions};

    fn camera(props: &str) -> String {
        format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{props},"geometry":{{"type":"Point","coordinates":[118.3,32.3]}}}}]}}"#
        )
    }

    #[test]
    fn a_range_past_the_engines_frame_is_rejected_with_the_bound() {
        let two = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","properties":{"id":"far","type":"dome","range_m":5000},"geometry":{"type":"Point","coordinates":[118.3,32.3]}},
            {"type":"Feature","properties":{"id":"near","type":"dome","range_m":3000},"geometry":{"type":"Point","coordinates":[118.3,32.3]}}]}"#;
        let (cams, report) = read_cameras(two, &ReadOptions::default()).unwrap();
        assert_eq!(cams.len(), 1);
        assert_eq!(cams[0].id, "near");
        let reason = &report.rejections[0].reason;
        assert_eq!(report.rejections[0].id.as_deref(), Some("far"));
        assert!(
            reason.contains("5000") && reason.contains("3000 m"),
            "{reason}"
        );
        assert!(read_cameras(
            &camera(r#"{"id":"far","type":"dome","range_m":5000}"#),
            &ReadOptions::default()
        )
        .is_err());
    }

    #[test]
    fn height_is_kept_but_reported_as_not_used() {
        let (cams, report) = read_cameras(
            &camera(r#"{"id":"pole","type":"dome","range_m":30,"height_m":6}"#),
            &ReadOptions::default(),
        )
        .unwrap();
        assert_eq!(cams[0].height_m, Some(6.0));
        assert_eq!(report.ignored.values().sum::<usize>(), 1);
        assert!(report.summary().contains("not used: height_m"));
    }
}
