//! Builds the demo dataset in `data/demo/` from real boundaries.
//!
//! The district outline of 琅琊区 (Langya, 341102) is real (DataV, GCJ-02,
//! converted to WGS84 by wangge itself); so are the codes and names of its 45
//! communities and villages (NBS 2023). Their polygons, households, cameras,
//! sites, candidates, buildings and roads are generated, reproducibly.
//!
//! Run: `cargo run --release --example make_demo -- ../shared/data/real/chuzhou-admin data/demo`

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use geo::{Area, BooleanOps, BoundingRect, Centroid, Contains, Voronoi};
use geo_types::{coord, Coord, Geometry, LineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde_json::json;

use wangge::crs::Crs;
use wangge::geodesy::LocalFrame;
use wangge::layers::{read_areas, FeatureWriter, FieldNames, ReadOptions};

/// A small deterministic generator, so the demo is the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next()
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

struct Village {
    code: String,
    name: String,
    urban: bool,
    seed: Point<f64>,
    shape: MultiPolygon<f64>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = Path::new(
        args.get(1)
            .map(String::as_str)
            .unwrap_or("../shared/data/real/chuzhou-admin"),
    );
    let out = Path::new(args.get(2).map(String::as_str).unwrap_or("data/demo"));
    std::fs::create_dir_all(out).expect("output dir");

    // The real district outline, GCJ-02 → WGS84.
    let text = std::fs::read_to_string(src.join("chuzhou_districts_datav_gcj02.geojson"))
        .expect("districts file");
    let opts = ReadOptions {
        crs: Some(Crs::Gcj02),
        fields: FieldNames {
            code: "adcode".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let (districts, _) = read_areas(&text, &opts).expect("districts");
    let district = districts
        .into_iter()
        .find(|a| a.code == "341102")
        .expect("琅琊区 341102");
    let outline = district.geometry;
    let frame = LocalFrame::new(outline.centroid().expect("centroid"));

    // Real community and village codes and names.
    let csv =
        std::fs::read_to_string(src.join("chuzhou_villages_nbs2023.csv")).expect("villages csv");
    let rows: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.split(',');
            let code = f.next()?.to_string();
            let name = f.next()?.trim_matches('"').to_string();
            (f.nth(3)? == "341102").then_some((code, name))
        })
        .collect();

    let mut rng = Rng(0x5EED_2026_3411_0200);
    let bbox = outline.bounding_rect().expect("bbox");
    let inside = |rng: &mut Rng| loop {
        let p = Point::new(
            rng.range(bbox.min().x, bbox.max().x),
            rng.range(bbox.min().y, bbox.max().y),
        );
        if outline.contains(&p) {
            return p;
        }
    };
    // Communities (社区) cluster near the city centre; villages (村) spread out.
    let centre = frame.to_degrees(coord! { x: -4000.0, y: 3000.0 });
    let seeds: Vec<Point<f64>> = rows
        .iter()
        .map(|(_, name)| {
            if name.contains("社区") {
                loop {
                    let p = Point::from(frame.to_degrees(coord! {
                        x: frame.to_local(centre).x + rng.normal() * 2500.0,
                        y: frame.to_local(centre).y + rng.normal() * 2500.0,
                    }));
                    if outline.contains(&p) {
                        break p;
                    }
                }
            } else {
                inside(&mut rng)
            }
        })
        .collect();
    let cells = MultiPoint(seeds.clone()).voronoi_cells().expect("voronoi");
    let villages: Vec<Village> = rows
        .iter()
        .zip(&seeds)
        .map(|((code, name), seed)| {
            let cell = cells
                .iter()
                .find(|c| c.contains(seed))
                .expect("cell of seed")
                .clone();
            let shape = MultiPolygon(vec![cell]).intersection(&outline);
            // Keep the part holding the seed plus any part big enough to matter.
            let parts: Vec<Polygon<f64>> = shape
                .0
                .into_iter()
                .filter(|p| p.contains(seed) || p.unsigned_area() > 1e-6)
                .collect();
            Village {
                code: code.clone(),
                name: name.clone(),
                urban: name.contains("社区"),
                seed: *seed,
                shape: MultiPolygon(parts),
            }
        })
        .collect();

    write(out, "areas", villages.iter().map(|v| {
        (Geometry::MultiPolygon(v.shape.clone()), json!({"code": v.code, "name": v.name, "kind": if v.urban {"urban"} else {"rural"}}))
    }));

    // Households: buildings clustered around each village centre.
    let mut households = Vec::new();
    let mut buildings = Vec::new();
    let mut hid = 0;
    for v in &villages {
        let target: u32 = if v.urban {
            rng.range(1200.0, 2600.0) as u32
        } else {
            rng.range(350.0, 950.0) as u32
        };
        let spread = if v.urban { 450.0 } else { 700.0 };
        let c = frame.to_local(v.seed.0);
        let mut placed = 0;
        let mut tries = 0;
        while placed < target && tries < 200_000 {
            tries += 1;
            let local = coord! { x: c.x + rng.normal() * spread, y: c.y + rng.normal() * spread };
            let p = Point::from(frame.to_degrees(local));
            if !v.shape.contains(&p) {
                continue;
            }
            let hh = if v.urban {
                rng.range(4.0, 36.0) as u32
            } else {
                1 + (rng.next() * 1.3) as u32
            };
            let hh = hh.min(target - placed);
            let persons = (hh as f64 * rng.range(2.2, 3.1)).round() as u32;
            hid += 1;
            households.push((Geometry::Point(p), json!({"id": format!("H{hid:06}"), "households": hh, "persons": persons, "village": v.code})));
            placed += hh;
            // A footprint behind the door for rural houses and every third block.
            if !v.urban || hid % 3 == 0 {
                let (w, d) = if v.urban { (30.0, 14.0) } else { (10.0, 12.0) };
                let b =
                    |x: f64, y: f64| frame.to_degrees(coord! { x: local.x + x, y: local.y + y });
                let ring: Vec<Coord<f64>> = vec![
                    b(-w / 2.0, 4.0),
                    b(w / 2.0, 4.0),
                    b(w / 2.0, 4.0 + d),
                    b(-w / 2.0, 4.0 + d),
                    b(-w / 2.0, 4.0),
                ];
                buildings.push((
                    Geometry::Polygon(Polygon::new(LineString(ring), vec![])),
                    json!({"village": v.code}),
                ));
            }
        }
    }
    write(out, "households", households.into_iter());
    write(out, "buildings", buildings.into_iter());

    // Cameras (GB/T 28181-style 20-digit ids), key sites and candidate sites.
    let mut cameras = Vec::new();
    let mut sites = Vec::new();
    let mut candidates = Vec::new();
    let near = |rng: &mut Rng, v: &Village, spread: f64| loop {
        let c = frame.to_local(v.seed.0);
        let p =
            Point::from(frame.to_degrees(
                coord! { x: c.x + rng.normal() * spread, y: c.y + rng.normal() * spread },
            ));
        if v.shape.contains(&p) {
            break p;
        }
    };
    let mut cam = 0;
    for v in &villages {
        let n = if v.urban {
            rng.range(8.0, 16.0)
        } else {
            rng.range(3.0, 7.0)
        } as usize;
        for _ in 0..n {
            cam += 1;
            let p = near(&mut rng, v, if v.urban { 450.0 } else { 600.0 });
            let roll = rng.next();
            let mut props = json!({
                "id": format!("{}00001320{:06}", &v.code[..6], cam),
                "online": rng.next() > 0.05,
                "height_m": rng.range(3.5, 8.0).round(),
            });
            let o = props.as_object_mut().expect("object");
            if roll < 0.45 {
                o.insert("type".into(), json!("bullet"));
                o.insert("azimuth_deg".into(), json!(rng.range(0.0, 360.0).round()));
                o.insert("fov_deg".into(), json!(rng.range(50.0, 95.0).round()));
                o.insert("range_m".into(), json!(rng.range(40.0, 90.0).round()));
            } else if roll < 0.85 {
                o.insert("type".into(), json!("dome"));
                o.insert("range_m".into(), json!(rng.range(25.0, 50.0).round()));
            } else {
                o.insert("type".into(), json!("ptz"));
                o.insert("range_m".into(), json!(rng.range(80.0, 150.0).round()));
            }
            cameras.push((Geometry::Point(p), props));
        }
        for (i, kind) in ["entrance", "entrance", "intersection", "intersection"]
            .iter()
            .enumerate()
        {
            let p = near(&mut rng, v, 900.0);
            sites.push((
                Geometry::Point(p),
                json!({"kind": kind, "name": format!("{}{}{}", v.name, kind_cn(kind), i % 2 + 1)}),
            ));
        }
        if rng.next() < 0.5 {
            sites.push((Geometry::Point(near(&mut rng, v, 500.0)), json!({"kind": "school", "name": format!("{}小学", v.name.trim_end_matches("社区居委会").trim_end_matches("村委会"))})));
        }
        for k in 0..6 {
            candidates.push((
                Geometry::Point(near(&mut rng, v, 600.0)),
                json!({"site": format!("{}-P{}", v.code, k + 1)}),
            ));
        }
    }
    write(out, "cameras", cameras.into_iter());
    write(out, "sites", sites.into_iter());
    write(out, "candidates", candidates.into_iter());

    // Roads and a river: long lines across the district, clipped to its box.
    let o = frame.to_local(outline.centroid().expect("centroid").0);
    let mut barriers = Vec::new();
    for (i, (angle, kind)) in [
        (15.0f64, "road"),
        (100.0, "road"),
        (60.0, "railway"),
        (140.0, "river"),
    ]
    .iter()
    .enumerate()
    {
        let a = angle.to_radians();
        let off = (i as f64 - 1.5) * 1500.0;
        let pts: Vec<Coord<f64>> = (-20..=20)
            .map(|t| {
                let s = t as f64 * 1000.0;
                let wobble = if *kind == "river" { (s / 1700.0).sin() * 400.0 } else { 0.0 };
                frame.to_degrees(coord! { x: o.x + s * a.cos() - (off + wobble) * a.sin(), y: o.y + s * a.sin() + (off + wobble) * a.cos() })
            })
            .filter(|c| bbox.contains(&Point::from(*c)))
            .collect();
        if pts.len() >= 2 {
            barriers.push((Geometry::LineString(LineString(pts)), json!({"kind": kind})));
        }
    }
    write(out, "barriers", barriers.into_iter());
}

fn kind_cn(kind: &str) -> &'static str {
    match kind {
        "entrance" => "村口",
        "intersection" => "路口",
        _ => "",
    }
}

fn write(
    dir: &Path,
    name: &str,
    features: impl Iterator<Item = (Geometry<f64>, serde_json::Value)>,
) {
    let file = BufWriter::new(File::create(dir.join(format!("{name}.geojson"))).expect("create"));
    let mut w = FeatureWriter::new(file, Some(name)).expect("write");
    for (g, p) in features {
        w.write(None, &g, &p).expect("write");
    }
    let n = w.count();
    w.finish().expect("finish");
    println!("{name}: {n} features");
}
