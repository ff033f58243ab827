//! The HTTP query parsers on arbitrary query strings: the items parameters
//! (`limit`, `offset`, `bbox`, …) and the upload options (`crs`, `strict`,
//! field names). Each answers with parameters or a 4xx `ServiceError`; accepted
//! parameters keep their documented ranges.
#![no_main]

use actix_web::ResponseError;
use libfuzzer_sys::fuzz_target;
use wangge::service::datasets::parse_read_options;
use wangge::service::ogc::parse_items_query;

const MAX: usize = 1000;

fuzz_target!(|data: &[u8]| {
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    match parse_items_query(query, MAX) {
        Ok(q) => {
            assert!((1..=MAX).contains(&q.limit), "limit {}", q.limit);
            if let Some(b) = q.bbox {
                assert!(b.iter().all(|v| v.is_finite()), "bbox {b:?}");
                // Clamped to CRS84 (south above north is an empty box).
                assert!(b[0].abs() <= 180.0 && b[2].abs() <= 180.0, "bbox {b:?}");
                assert!(b[1].abs() <= 90.0 && b[3].abs() <= 90.0, "bbox {b:?}");
                assert!(q.bbox_text.is_some());
            }
        }
        Err(e) => assert!(e.status_code().is_client_error(), "{e}"),
    }
    if let Err(e) = parse_read_options(query) {
        assert!(e.status_code().is_client_error(), "{e}");
    }
});
