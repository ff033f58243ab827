//! Tests of `wangge::crs` against outside references.
//!
//! The expected numbers are in `tests/data/crs/*.json`, generated once by
//! `tests/data/crs/gen_vectors.py` with pyproj (PROJ) and two independent PyPI
//! implementations of GCJ-02/BD-09 (coord-convert, prcoords); never by wangge.

use geo_types::Coord;
use serde_json::Value;
use wangge::crs::{chinese, Crs, CrsError};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/data/crs/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Ground distance in metres between two nearby lon/lat points (equirectangular;
/// plenty for distances of centimetres to metres).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = ((a.1 + b.1) / 2.0).to_radians();
    let dx = (a.0 - b.0) * 111_320.0 * lat.cos();
    let dy = (a.1 - b.1) * 110_574.0;
    dx.hypot(dy)
}

// ---------------------------------------------------------------- names

#[test]
fn parse_accepted_names() {
    let cases: &[(&str, Crs)] = &[
        ("EPSG:4549", Crs::Epsg(4549)),
        ("epsg:4549", Crs::Epsg(4549)),
        ("  EPSG:3857 ", Crs::Epsg(3857)),
        ("EPSG::32650", Crs::Epsg(32650)),
        ("EPSG:4326", Crs::Wgs84),
        ("EPSG:4490", Crs::Wgs84),
        ("CRS84", Crs::Wgs84),
        ("crs84", Crs::Wgs84),
        ("OGC:CRS84", Crs::Wgs84),
        ("WGS84", Crs::Wgs84),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", Crs::Wgs84),
        ("URN:OGC:DEF:CRS:OGC::CRS84", Crs::Wgs84),
        ("urn:ogc:def:crs:EPSG::4326", Crs::Wgs84),
        ("urn:ogc:def:crs:EPSG::4490", Crs::Wgs84),
        ("urn:ogc:def:crs:EPSG:9.6:4549", Crs::Epsg(4549)),
        ("urn:ogc:def:crs:EPSG::4548", Crs::Epsg(4548)),
        (
            "http://www.opengis.net/def/crs/EPSG/0/4549",
            Crs::Epsg(4549),
        ),
        (
            "https://www.opengis.net/def/crs/EPSG/0/27700",
            Crs::Epsg(27700),
        ),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", Crs::Wgs84),
        ("http://www.opengis.net/def/crs/OGC/1.3/CRS84", Crs::Wgs84),
        ("GCJ02", Crs::Gcj02),
        ("gcj-02", Crs::Gcj02),
        ("GCJ-02", Crs::Gcj02),
        ("BD09", Crs::Bd09),
        ("bd-09", Crs::Bd09),
        ("BD-09", Crs::Bd09),
    ];
    for (name, want) in cases {
        assert_eq!(Crs::parse(name).as_ref(), Ok(want), "{name}");
        assert_eq!(name.parse::<Crs>().as_ref(), Ok(want), "{name}");
    }
}

#[test]
fn display_is_canonical_and_reparses() {
    for (crs, text) in [
        (Crs::Wgs84, "CRS84"),
        (Crs::Gcj02, "GCJ02"),
        (Crs::Bd09, "BD09"),
        (Crs::Epsg(4549), "EPSG:4549"),
    ] {
        assert_eq!(crs.to_string(), text);
        assert_eq!(Crs::parse(text), Ok(crs));
        let json = serde_json::to_string(&crs).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<Crs>(&json).unwrap(), crs);
    }
    assert!(serde_json::from_str::<Crs>("\"EPSG:x\"").is_err());
    assert_eq!(Crs::epsg(4490), Crs::Wgs84);
    assert_eq!(Crs::epsg(4549), Crs::Epsg(4549));
    assert_eq!(Crs::default(), Crs::Wgs84);
    assert!(Crs::Epsg(4326).is_wgs84());
    assert_eq!(
        Crs::Epsg(4549).ogc_uri().as_deref(),
        Some("http://www.opengis.net/def/crs/EPSG/0/4549")
    );
    assert_eq!(
        Crs::Wgs84.ogc_uri().as_deref(),
        Some("http://www.opengis.net/def/crs/OGC/1.3/CRS84")
    );
    assert_eq!(Crs::Gcj02.ogc_uri(), None);
}

#[test]
fn parse_rejects_bad_names() {
    for bad in [
        "",
        "EPSG",
        "EPSG:",
        "EPSG:abc",
        "EPSG:0",
        "EPSG:-4326",
        "EPSG:4326.5",
        "EPSG:12345678901",
        "EPSG 4326",
        "GCJ",
        "GCJ-2",
        "BD-90",
        "CRS83",
        "urn:ogc:def:crs:EPSG:4326",
        "urn:ogc:def:crs:ESRI::102100",
        "urn:ogc:def:crs:OGC:1.3:CRS27",
        "http://www.opengis.net/def/crs/EPSG/0/",
        "http://example.com/def/crs/EPSG/0/4326",
    ] {
        match Crs::parse(bad) {
            Err(CrsError::UnknownName { name }) => assert_eq!(name, bad),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    let msg = Crs::parse("EPSG:abc").unwrap_err().to_string();
    assert!(msg.contains("EPSG:abc") && msg.contains("GCJ02"), "{msg}");
}

#[test]
fn geojson_crs_member() {
    let parse = |s: &str| Crs::from_geojson_member(&serde_json::from_str(s).unwrap());
    assert_eq!(
        parse(r#"{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4549"}}"#),
        Ok(Crs::Epsg(4549))
    );
    assert_eq!(
        parse(r#"{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}}"#),
        Ok(Crs::Wgs84)
    );
    assert_eq!(
        parse(r#"{"type":"EPSG","properties":{"code":4548}}"#),
        Ok(Crs::Epsg(4548))
    );
    assert_eq!(
        parse(r#"{"type":"EPSG","properties":{"code":"4326"}}"#),
        Ok(Crs::Wgs84)
    );
    assert_eq!(parse("null"), Ok(Crs::Wgs84));
    for bad in [
        r#"{"type":"link","properties":{"href":"http://example.com/crs","type":"proj4"}}"#,
        r#"{"type":"name","properties":{"name":"EPSG:abc"}}"#,
        r#"{"type":"name"}"#,
        r#"{"type":"EPSG","properties":{"code":-1}}"#,
        r#""EPSG:4326""#,
    ] {
        assert!(
            matches!(parse(bad), Err(CrsError::UnknownName { .. })),
            "{bad}"
        );
    }
}

#[test]
fn unknown_and_unusable_epsg_codes_are_errors() {
    match Crs::parse("EPSG:999999").unwrap().to_wgs84() {
        Err(CrsError::UnknownEpsg {
            code: 999999,
            reason,
        }) => assert!(!reason.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Crs::Epsg(999999).from_wgs84(),
        Err(CrsError::UnknownEpsg { code: 999999, .. })
    ));
    // CRSs PROJ knows but without lon/lat or easting/northing: vertical, geocentric.
    for code in [5773, 4978] {
        match Crs::Epsg(code).to_wgs84() {
            Err(e @ CrsError::NotHorizontal { .. }) => {
                assert!(e.to_string().contains(&format!("EPSG:{code}")), "{e}")
            }
            other => panic!("EPSG:{code}: {other:?}"),
        }
    }
    // Asking twice gives the same answer (from the per-process table).
    assert!(matches!(
        Crs::Epsg(999999).to_wgs84(),
        Err(CrsError::UnknownEpsg { .. })
    ));
}

// ---------------------------------------------------------------- PROJ

#[test]
fn epsg_matches_pyproj() {
    let doc = load("proj_vectors.json");
    let mut checked = 0;
    for set in doc["sets"].as_array().unwrap() {
        let crs = Crs::parse(set["crs"].as_str().unwrap()).unwrap();
        let to = crs.to_wgs84().unwrap();
        let from = crs.from_wgs84().unwrap();
        assert!(!to.is_identity() && !from.is_identity());
        assert_eq!(to.crs(), crs);
        let mut batch_xy = Vec::new();
        let mut batch_ll = Vec::new();
        for p in set["points"].as_array().unwrap() {
            let (lon, lat, x, y) = (f(&p["lon"]), f(&p["lat"]), f(&p["x"]), f(&p["y"]));
            let (ilon, ilat) = (f(&p["inv_lon"]), f(&p["inv_lat"]));

            // Inverse (what the service does with input): within 1e-7° of pyproj.
            let (rlon, rlat) = to.convert(x, y).unwrap();
            assert!(
                (rlon - ilon).abs() < 1e-7 && (rlat - ilat).abs() < 1e-7,
                "{crs} ({x}, {y}): got ({rlon}, {rlat}), pyproj ({ilon}, {ilat})"
            );
            // Forward: within a millimetre of pyproj.
            let (rx, ry) = from.convert(lon, lat).unwrap();
            assert!(
                (rx - x).abs() < 1e-3 && (ry - y).abs() < 1e-3,
                "{crs} ({lon}, {lat}): got ({rx}, {ry}), pyproj ({x}, {y})"
            );
            // Round trips within a centimetre, both ways.
            let (bx, by) = from.convert(rlon, rlat).unwrap();
            assert!((bx - x).hypot(by - y) < 0.01, "{crs} round trip");
            let (blon, blat) = to.convert(rx, ry).unwrap();
            assert!(metres((blon, blat), (lon, lat)) < 0.01, "{crs} round trip");

            batch_xy.push(Coord { x, y });
            batch_ll.push(Coord { x: lon, y: lat });
            checked += 1;
        }
        // The batch path agrees with the single-point path.
        let single: Vec<(f64, f64)> = batch_xy
            .iter()
            .map(|c| to.convert(c.x, c.y).unwrap())
            .collect();
        to.convert_coords(&mut batch_xy).unwrap();
        for (c, s) in batch_xy.iter().zip(&single) {
            assert_eq!((c.x, c.y), *s);
        }
        from.convert_coords(&mut batch_ll).unwrap();
        for (c, p) in batch_ll.iter().zip(set["points"].as_array().unwrap()) {
            assert!((c.x - f(&p["x"])).abs() < 1e-3 && (c.y - f(&p["y"])).abs() < 1e-3);
        }
    }
    assert!(checked >= 150, "{checked}");
}

#[test]
fn cgcs2000_zone_names_are_the_names_proj_gives_their_codes() {
    // Every CGCS2000 Gauss–Krüger CRS (EPSG:4491–4554) by the name in PROJ's
    // own definition of it, so the table in `cgcs2000_zone` cannot drift.
    for code in 4491..=4554u32 {
        let wkt = Crs::Epsg(code).to_wkt(false).unwrap();
        let name = wkt
            .split_once("PROJCRS[\"")
            .and_then(|(_, r)| r.split_once('"'))
            .map(|(n, _)| n)
            .unwrap_or_else(|| panic!("EPSG:{code}: no PROJCRS name in {wkt}"));
        assert!(name.starts_with("CGCS2000 / "), "EPSG:{code} is {name}");
        assert_eq!(Crs::parse(name), Ok(Crs::Epsg(code)), "{name}");
        assert_eq!(
            Crs::parse(&name.to_uppercase()),
            Ok(Crs::Epsg(code)),
            "{name}"
        );
        let umlaut = name.replace("Kruger", "Krüger");
        assert_eq!(Crs::parse(&umlaut), Ok(Crs::Epsg(code)), "{umlaut}");
    }
    assert_eq!(Crs::parse("CGCS2000-GK-CM-117E"), Ok(Crs::Epsg(4548)));
    assert_eq!(Crs::parse("cgcs2000-gk-cm-120e"), Ok(Crs::Epsg(4549)));
    assert_eq!(Crs::parse("CGCS2000"), Ok(Crs::Wgs84));
    for bad in [
        "CGCS2000-GK-CM-118E",
        "CGCS2000-GK-CM-72E",
        "CGCS2000-GK-CM-138E",
        "CGCS2000 / 3-degree Gauss-Kruger zone 24",
        "CGCS2000 / Gauss-Kruger CM 78E",
        "CGCS2000 / Gauss-Kruger zone 24",
        "CGCS2000 / Gauss-Kruger CM E",
        "CGCS2000/3-degree Gauss-Kruger CM 117E",
        "CGCS2000-GK-CM-0117E",
    ] {
        assert!(
            matches!(Crs::parse(bad), Err(CrsError::UnknownName { .. })),
            "{bad}"
        );
    }
}

#[test]
fn official_axis_order_comes_from_proj() {
    use wangge::crs::northing_first;
    for (code, north) in [
        (4326, true),
        (4490, true),
        (3857, false),
        (4549, true),
        (4491, true),
        (32650, false),
    ] {
        assert_eq!(northing_first(code), Ok(north), "EPSG:{code}");
    }
    assert!(northing_first(999_999).is_err());
}

#[test]
fn gauss_kruger_axis_order_is_easting_northing() {
    // EPSG:4549 is officially (northing X, easting Y); we take easting first.
    let to = Crs::Epsg(4549).to_wgs84().unwrap();
    let (lon, lat) = to.convert(500_000.0, 3_544_000.0).unwrap();
    assert!((lon - 120.0).abs() < 1e-9, "{lon}");
    assert!((lat - 32.0).abs() < 0.05, "{lat}");
    let area = to.area_of_use().unwrap();
    assert!(area.west < 120.0 && area.east > 120.0, "{area:?}");
}

#[test]
fn wgs84_is_identity() {
    for crs in [Crs::Wgs84, Crs::Epsg(4326), Crs::Epsg(4490)] {
        let to = crs.to_wgs84().unwrap();
        assert!(to.is_identity());
        assert_eq!(to.convert(118.3, 32.3), Ok((118.3, 32.3)));
        let mut c = vec![Coord { x: 1.0, y: 2.0 }; 3];
        to.convert_coords(&mut c).unwrap();
        assert_eq!(c[2], Coord { x: 1.0, y: 2.0 });
        assert!(crs.from_wgs84().unwrap().is_identity());
    }
}

#[test]
fn bad_coordinates_are_errors_with_their_index() {
    let to = Crs::Epsg(4549).to_wgs84().unwrap();
    assert!(matches!(
        to.convert(f64::NAN, 3_544_000.0),
        Err(CrsError::NonFinite { .. })
    ));
    // X and Y swapped, as in survey tables that list the northing first.
    match to.convert(3_577_000.0, 421_000.0) {
        Err(e @ (CrsError::OutOfDomain { .. } | CrsError::Transform { .. })) => {
            assert_eq!(e.index(), None);
            assert!(e.to_string().contains("EPSG:4549"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Same in a batch, small (one chunk) and large (parallel chunks).
    for (len, bad_at) in [(10, 7), (50_000, 33_333), (50_000, 4_096)] {
        let mut coords = vec![
            Coord {
                x: 421_000.0,
                y: 3_577_000.0
            };
            len
        ];
        coords[bad_at] = Coord {
            x: 3_577_000.0,
            y: 421_000.0,
        };
        coords[len - 1] = Coord {
            x: 3_577_000.0,
            y: 421_000.0,
        };
        let e = to.convert_coords(&mut coords).unwrap_err();
        assert_eq!(e.index(), Some(bad_at), "{e}");
        let mut coords = vec![
            Coord {
                x: 421_000.0,
                y: 3_577_000.0
            };
            len
        ];
        coords[bad_at].y = f64::INFINITY;
        let e = to.convert_coords(&mut coords).unwrap_err();
        assert!(matches!(e, CrsError::NonFinite { .. }));
        assert_eq!(e.index(), Some(bad_at), "{e}");
    }
    // GCJ-02 refuses non-finite input too.
    let mut coords = vec![Coord { x: 118.3, y: 32.3 }; 20_000];
    coords[19_000].x = f64::NAN;
    let e = Crs::Gcj02
        .to_wgs84()
        .unwrap()
        .convert_coords(&mut coords)
        .unwrap_err();
    assert_eq!(e.index(), Some(19_000));
    // WGS84 -> 4549 beyond the poles.
    let from = Crs::Epsg(4549).from_wgs84().unwrap();
    assert!(from.convert(120.0, 91.0).is_err());
}

#[test]
fn parallel_batch_equals_sequential() {
    let to = Crs::Epsg(4549).to_wgs84().unwrap();
    let mut coords: Vec<Coord> = (0..40_000)
        .map(|i| Coord {
            x: 400_000.0 + (i % 200) as f64 * 500.0,
            y: 3_540_000.0 + (i / 200) as f64 * 500.0,
        })
        .collect();
    let single: Vec<(f64, f64)> = coords
        .iter()
        .map(|c| to.convert(c.x, c.y).unwrap())
        .collect();
    to.convert_coords(&mut coords).unwrap();
    for (c, s) in coords.iter().zip(&single) {
        assert_eq!((c.x, c.y), *s);
    }
}

#[test]
fn transformers_work_across_threads() {
    let to = Crs::Epsg(4548).to_wgs84().unwrap();
    let want = to.convert(500_000.0, 3_560_000.0).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let to = to.clone();
            std::thread::spawn(move || to.convert(500_000.0, 3_560_000.0).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), want);
    }
}

// ---------------------------------------------------------------- GCJ-02 / BD-09

#[test]
fn gcj02_and_bd09_match_reference_implementations() {
    let doc = load("chinese_vectors.json");
    let pts = doc["points"].as_array().unwrap();
    assert!(pts.len() >= 20);
    let gcj_to = Crs::Gcj02.to_wgs84().unwrap();
    let gcj_from = Crs::Gcj02.from_wgs84().unwrap();
    let bd_to = Crs::Bd09.to_wgs84().unwrap();
    let bd_from = Crs::Bd09.from_wgs84().unwrap();
    let pair = |v: &Value| (f(&v[0]), f(&v[1]));
    for p in pts {
        let name = p["name"].as_str().unwrap();
        let wgs = pair(&p["wgs84"]);
        let gcj = pair(&p["gcj02"]);
        let bd = pair(&p["bd09"]);

        // Forward within 1e-6°.
        let g = gcj_from.convert(wgs.0, wgs.1).unwrap();
        assert!(
            (g.0 - gcj.0).abs() < 1e-6 && (g.1 - gcj.1).abs() < 1e-6,
            "{name} gcj {g:?} vs {gcj:?}"
        );
        let b = bd_from.convert(wgs.0, wgs.1).unwrap();
        assert!(
            (b.0 - bd.0).abs() < 1e-6 && (b.1 - bd.1).abs() < 1e-6,
            "{name} bd {b:?} vs {bd:?}"
        );
        let gb = chinese::gcj02_to_bd09(gcj.0, gcj.1);
        assert!(
            (gb.0 - bd.0).abs() < 1e-6 && (gb.1 - bd.1).abs() < 1e-6,
            "{name} gcj->bd"
        );

        // Inverse lands on the true WGS84 point (within 0.5 m).
        let w = gcj_to.convert(gcj.0, gcj.1).unwrap();
        assert!(
            metres(w, wgs) < 0.5,
            "{name} gcj->wgs off by {} m",
            metres(w, wgs)
        );
        let w = bd_to.convert(bd.0, bd.1).unwrap();
        assert!(
            metres(w, wgs) < 0.5,
            "{name} bd->wgs off by {} m",
            metres(w, wgs)
        );
        let g = chinese::bd09_to_gcj02(bd.0, bd.1);
        assert!(metres(g, gcj) < 0.5, "{name} bd->gcj");
    }
}

#[test]
fn gcj02_and_bd09_round_trips_within_a_centimetre() {
    let mut worst: f64 = 0.0;
    // A grid over China and beyond the out-of-China box edges.
    for i in 0..=140 {
        for j in 0..=120 {
            let w = (70.0 + i as f64 * 0.5, -2.0 + j as f64 * 0.5 + 0.0123);
            let g = chinese::wgs84_to_gcj02(w.0, w.1);
            let back = chinese::gcj02_to_wgs84(g.0, g.1);
            let b = chinese::wgs84_to_bd09(w.0, w.1);
            let back_b = chinese::bd09_to_wgs84(b.0, b.1);
            let gb = chinese::gcj02_to_bd09(w.0, w.1);
            let back_gb = chinese::bd09_to_gcj02(gb.0, gb.1);
            if !chinese::in_gcj02_box(w.0, w.1) {
                assert_eq!(g, w);
            }
            // The inverse is only defined for GCJ points whose preimage is on the
            // same side of the box edge; skip the thin strip where it is not.
            let near_edge = chinese::in_gcj02_box(w.0, w.1) != chinese::in_gcj02_box(g.0, g.1);
            if !near_edge {
                worst = worst.max(metres(back, w)).max(metres(back_b, w));
            }
            worst = worst.max(metres(back_gb, w));
        }
    }
    assert!(worst < 0.01, "worst round trip {worst} m");
}

#[test]
fn gcj02_inverse_is_exact_not_the_one_step_approximation() {
    // The naive inverse (subtracting the offset computed at the GCJ point) is off
    // by metres; ours must be within 1e-9° in the forward image.
    let (glon, glat) = (118.32169946943249, 32.30159152788524);
    let w = chinese::gcj02_to_wgs84(glon, glat);
    let f = chinese::wgs84_to_gcj02(w.0, w.1);
    assert!((f.0 - glon).abs() < 1e-9 && (f.1 - glat).abs() < 1e-9);
}
