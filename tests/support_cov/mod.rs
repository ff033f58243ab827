//! Test and bench helpers for the coverage engine: a seeded random generator,
//! generated villages, a minimal GeoJSON → model reader and the brute-force
//! oracle of the contract's visibility rule.
#![allow(dead_code)]

pub mod villages;

use geo::coordinate_position::CoordPos;
use geo::dimensions::Dimensions;
use geo::{Bearing, Contains, Distance, Geodesic, Relate};
use geo_types::{Coord, Line, MultiPolygon, Point, Polygon};
use wangge::model::{Area, AreaKind, Building, Camera, CameraType, Candidate, Household, Site};

/// SplitMix64: small, seeded, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn f(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.f()
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
}

pub fn camera(
    id: usize,
    lon: f64,
    lat: f64,
    az: f64,
    fov: f64,
    range: f64,
    online: bool,
) -> Camera {
    Camera {
        id: format!("cam{id}"),
        location: Point::new(lon, lat),
        camera_type: if fov >= 360.0 {
            CameraType::Dome
        } else {
            CameraType::Bullet
        },
        azimuth_deg: az,
        fov_deg: fov,
        range_m: range,
        online,
        height_m: None,
        feature: id,
        properties: None,
    }
}

pub fn household(i: usize, lon: f64, lat: f64, n: u32) -> Household {
    Household {
        location: Point::new(lon, lat),
        households: n,
        persons: Some(n * 3),
        id: Some(format!("h{i}")),
        feature: i,
        properties: None,
    }
}

pub fn site(i: usize, lon: f64, lat: f64, kind: &str) -> Site {
    Site {
        location: Point::new(lon, lat),
        kind: Some(kind.to_string()),
        name: None,
        feature: i,
        properties: None,
    }
}

pub fn candidate(i: usize, lon: f64, lat: f64) -> Candidate {
    Candidate {
        location: Point::new(lon, lat),
        feature: i,
        properties: None,
    }
}

pub fn building(i: usize, poly: Polygon<f64>) -> Building {
    Building {
        geometry: MultiPolygon(vec![poly]),
        feature: i,
    }
}

pub fn area(code: &str, mp: MultiPolygon<f64>) -> Area {
    Area {
        code: code.to_string(),
        name: None,
        kind: AreaKind::Rural,
        geometry: mp,
        properties: None,
    }
}

/// A rectangle `w` × `h` metres centred at (lon, lat), rotated by `rot` degrees.
pub fn rect(lon: f64, lat: f64, w: f64, h: f64, rot: f64) -> Polygon<f64> {
    let (kx, ky) = m_per_deg(lat);
    let (s, c) = rot.to_radians().sin_cos();
    let pts: Vec<(f64, f64)> = [
        (-0.5, -0.5),
        (0.5, -0.5),
        (0.5, 0.5),
        (-0.5, 0.5),
        (-0.5, -0.5),
    ]
    .iter()
    .map(|&(a, b)| {
        let (x, y) = (a * w, b * h);
        let (xr, yr) = (x * c - y * s, x * s + y * c);
        (lon + xr / kx, lat + yr / ky)
    })
    .collect();
    Polygon::new(pts.into(), vec![])
}

/// Rough metres per degree (for generating data only).
pub fn m_per_deg(lat: f64) -> (f64, f64) {
    (111_320.0 * lat.to_radians().cos(), 110_574.0)
}

/// Offset a point by (east, north) metres (for generating data only).
pub fn offset(lon: f64, lat: f64, e: f64, n: f64) -> (f64, f64) {
    let (kx, ky) = m_per_deg(lat);
    (lon + e / kx, lat + n / ky)
}

/// The oracle's verdict for one (camera, point) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Seen,
    NotSeen,
    /// Within a hair of the range or of a field-of-view edge: either answer is
    /// acceptable under the documented tie rule.
    Tie,
}

/// The contract's rule, brute force: geodesic distance and bearing (Karney), and
/// every building checked with the DE-9IM relate of the segment and the polygon.
pub fn oracle(cam: &Camera, p: Coord<f64>, buildings: &[Building]) -> Verdict {
    if !cam.online {
        return Verdict::NotSeen;
    }
    let c = cam.location;
    let pp = Point::from(p);
    let d = Geodesic.distance(c, pp);
    let rel = (d - cam.range_m) / cam.range_m;
    if rel > 1e-7 {
        return Verdict::NotSeen;
    }
    let mut tie = rel.abs() <= 1e-7;
    if cam.fov_deg < 360.0 && d > 1e-6 {
        let b = Geodesic.bearing(c, pp);
        let diff = ((b - cam.azimuth_deg).rem_euclid(360.0) + 540.0) % 360.0 - 180.0;
        let m = diff.abs() - cam.fov_deg / 2.0;
        if m > 1e-5 {
            return Verdict::NotSeen;
        }
        if m.abs() <= 1e-5 {
            tie = true;
        }
    }
    if c.0 != p {
        let line = Line::new(c.0, p);
        for b in buildings {
            if b.geometry.contains(&c) || b.geometry.contains(&pp) {
                continue;
            }
            let im = line.relate(&b.geometry);
            if im.get(CoordPos::Inside, CoordPos::Inside) != Dimensions::Empty {
                return if tie { Verdict::Tie } else { Verdict::NotSeen };
            }
        }
    }
    if tie {
        Verdict::Tie
    } else {
        Verdict::Seen
    }
}

// ---- GeoJSON reading (tests and benches only) --------------------------------

fn read_fc(path: &str) -> Vec<geojson::Feature> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match text
        .parse::<geojson::GeoJson>()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
    {
        geojson::GeoJson::FeatureCollection(fc) => fc.features,
        _ => panic!("{path}: not a FeatureCollection"),
    }
}

fn prop_f64(f: &geojson::Feature, k: &str) -> Option<f64> {
    f.properties.as_ref()?.get(k)?.as_f64()
}

fn prop_str(f: &geojson::Feature, k: &str) -> Option<String> {
    let v = f.properties.as_ref()?.get(k)?;
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn geom(f: &geojson::Feature) -> Option<geo_types::Geometry<f64>> {
    let g = f.geometry.as_ref()?;
    geo_types::Geometry::<f64>::try_from(g.clone()).ok()
}

fn to_mp(g: geo_types::Geometry<f64>) -> Option<MultiPolygon<f64>> {
    match g {
        geo_types::Geometry::Polygon(p) => Some(MultiPolygon(vec![p])),
        geo_types::Geometry::MultiPolygon(m) => Some(m),
        _ => None,
    }
}

fn to_point(g: geo_types::Geometry<f64>) -> Option<Point<f64>> {
    match g {
        geo_types::Geometry::Point(p) => Some(p),
        _ => None,
    }
}

/// Cameras with the contract's property names; missing fields get the
/// documented defaults (dome/ptz 360°, bullet 90°, range 60 m, online true).
pub fn read_cameras(path: &str) -> Vec<Camera> {
    read_fc(path)
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let p = to_point(geom(f)?)?;
            let ty = match prop_str(f, "type").as_deref() {
                Some("dome") => CameraType::Dome,
                Some("ptz") => CameraType::Ptz,
                _ => CameraType::Bullet,
            };
            let fov = prop_f64(f, "fov_deg").unwrap_or(match ty {
                CameraType::Bullet => 90.0,
                _ => 360.0,
            });
            Some(Camera {
                id: prop_str(f, "id").unwrap_or_else(|| i.to_string()),
                location: p,
                camera_type: ty,
                azimuth_deg: prop_f64(f, "azimuth_deg").unwrap_or(0.0),
                fov_deg: fov,
                range_m: prop_f64(f, "range_m").unwrap_or(60.0),
                online: f
                    .properties
                    .as_ref()
                    .and_then(|p| p.get("online"))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(true),
                height_m: prop_f64(f, "height_m"),
                feature: i,
                properties: None,
            })
        })
        .collect()
}

pub fn read_households(path: &str, count_field: &str) -> Vec<Household> {
    read_fc(path)
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let p = to_point(geom(f)?)?;
            Some(Household {
                location: p,
                households: prop_f64(f, count_field).unwrap_or(1.0) as u32,
                persons: None,
                id: prop_str(f, "id"),
                feature: i,
                properties: None,
            })
        })
        .collect()
}

pub fn read_points(path: &str) -> Vec<(Point<f64>, geojson::Feature)> {
    read_fc(path)
        .into_iter()
        .filter_map(|f| Some((to_point(geom(&f)?)?, f)))
        .collect()
}

pub fn read_polygons(path: &str) -> Vec<(MultiPolygon<f64>, geojson::Feature)> {
    read_fc(path)
        .into_iter()
        .filter_map(|f| Some((to_mp(geom(&f)?)?, f)))
        .collect()
}

pub fn read_sites(path: &str) -> Vec<Site> {
    read_points(path)
        .into_iter()
        .enumerate()
        .map(|(i, (p, f))| Site {
            location: p,
            kind: prop_str(&f, "kind"),
            name: prop_str(&f, "name"),
            feature: i,
            properties: None,
        })
        .collect()
}

pub fn read_candidates(path: &str) -> Vec<Candidate> {
    read_points(path)
        .into_iter()
        .enumerate()
        .map(|(i, (p, _))| candidate(i, p.x(), p.y()))
        .collect()
}

pub fn read_buildings(path: &str) -> Vec<Building> {
    read_polygons(path)
        .into_iter()
        .enumerate()
        .map(|(i, (mp, _))| Building {
            geometry: mp,
            feature: i,
        })
        .collect()
}

pub fn read_areas(path: &str, code_field: &str) -> Vec<Area> {
    read_polygons(path)
        .into_iter()
        .enumerate()
        .map(|(i, (mp, f))| {
            let code = prop_str(&f, code_field).unwrap_or_else(|| i.to_string());
            area(&code, mp)
        })
        .collect()
}

// ---- fast typed reading of the generated benchmark layers ---------------------

pub mod fast {
    //! Typed serde reading of the generator's contract layers: much lighter than
    //! a generic GeoJSON tree, so benchmark memory reflects the engine.
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Fc<G, P> {
        features: Vec<Feat<G, P>>,
    }
    #[derive(Deserialize)]
    struct Feat<G, P> {
        geometry: G,
        properties: P,
    }
    #[derive(Deserialize)]
    struct PointG {
        coordinates: [f64; 2],
    }
    #[derive(Deserialize)]
    struct PolyG {
        coordinates: Vec<Vec<[f64; 2]>>,
    }
    #[derive(Deserialize)]
    struct CamP {
        id: String,
        #[serde(rename = "type")]
        ty: Option<String>,
        azimuth_deg: f64,
        fov_deg: f64,
        range_m: f64,
        online: bool,
        height_m: Option<f64>,
    }
    #[derive(Deserialize)]
    struct HhP {
        households: Option<u32>,
        id: Option<String>,
    }
    #[derive(Deserialize)]
    struct SiteP {
        kind: Option<String>,
        name: Option<String>,
    }
    #[derive(Deserialize)]
    struct AreaP {
        code: String,
    }
    #[derive(Deserialize)]
    struct NoP {}

    fn load<G: for<'de> Deserialize<'de>, P: for<'de> Deserialize<'de>>(
        path: &str,
    ) -> Vec<Feat<G, P>> {
        let text = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let fc: Fc<G, P> = serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        fc.features
    }

    fn poly(g: PolyG) -> Polygon<f64> {
        let mut rings = g
            .coordinates
            .into_iter()
            .map(|r| LineString::from(r.into_iter().map(|c| (c[0], c[1])).collect::<Vec<_>>()));
        let ext = rings.next().unwrap_or_else(|| LineString::new(vec![]));
        Polygon::new(ext, rings.collect())
    }

    use geo_types::LineString;

    pub fn cameras(path: &str) -> Vec<Camera> {
        load::<PointG, CamP>(path)
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let p = f.properties;
                Camera {
                    id: p.id,
                    location: Point::new(f.geometry.coordinates[0], f.geometry.coordinates[1]),
                    camera_type: match p.ty.as_deref() {
                        Some("dome") => CameraType::Dome,
                        Some("ptz") => CameraType::Ptz,
                        _ => CameraType::Bullet,
                    },
                    azimuth_deg: p.azimuth_deg,
                    fov_deg: p.fov_deg,
                    range_m: p.range_m,
                    online: p.online,
                    height_m: p.height_m,
                    feature: i,
                    properties: None,
                }
            })
            .collect()
    }

    pub fn households(path: &str) -> Vec<Household> {
        load::<PointG, HhP>(path)
            .into_iter()
            .enumerate()
            .map(|(i, f)| Household {
                location: Point::new(f.geometry.coordinates[0], f.geometry.coordinates[1]),
                households: f.properties.households.unwrap_or(1),
                persons: None,
                id: f.properties.id,
                feature: i,
                properties: None,
            })
            .collect()
    }

    pub fn sites(path: &str) -> Vec<Site> {
        load::<PointG, SiteP>(path)
            .into_iter()
            .enumerate()
            .map(|(i, f)| Site {
                location: Point::new(f.geometry.coordinates[0], f.geometry.coordinates[1]),
                kind: f.properties.kind,
                name: f.properties.name,
                feature: i,
                properties: None,
            })
            .collect()
    }

    pub fn candidates(path: &str) -> Vec<Candidate> {
        load::<PointG, NoP>(path)
            .into_iter()
            .enumerate()
            .map(|(i, f)| candidate(i, f.geometry.coordinates[0], f.geometry.coordinates[1]))
            .collect()
    }

    pub fn buildings(path: &str) -> Vec<Building> {
        load::<PolyG, NoP>(path)
            .into_iter()
            .enumerate()
            .map(|(i, f)| Building {
                geometry: MultiPolygon(vec![poly(f.geometry)]),
                feature: i,
            })
            .collect()
    }

    pub fn areas(path: &str) -> Vec<Area> {
        load::<PolyG, AreaP>(path)
            .into_iter()
            .map(|f| area(&f.properties.code, MultiPolygon(vec![poly(f.geometry)])))
            .collect()
    }
}
