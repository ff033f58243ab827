//! CRS names (`Crs::parse`, the legacy GeoJSON `crs` member) on arbitrary
//! text. An accepted name must round-trip through its OGC URI, and building
//! its PROJ transformer must answer with a value or a `CrsError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wangge::crs::Crs;

fuzz_target!(|data: &[u8]| {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = Crs::parse(name);
    assert_eq!(
        parsed.as_ref().ok(),
        name.parse::<Crs>().as_ref().ok(),
        "FromStr agrees with Crs::parse"
    );
    if let Ok(crs) = parsed {
        if let Some(uri) = crs.ogc_uri() {
            assert_eq!(Crs::parse(&uri).ok(), Some(crs), "{uri} round-trips");
        }
        if let Ok(t) = crs.to_wgs84() {
            let _ = t.convert(500_000.0, 3_000_000.0);
        }
    }
    if let Ok(member) = serde_json::from_str::<serde_json::Value>(name) {
        let _ = Crs::from_geojson_member(&member);
    }
});
