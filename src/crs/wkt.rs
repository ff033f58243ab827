//! CRSs written as WKT: the `.prj` beside a Shapefile and the definitions of a
//! GeoPackage's `gpkg_spatial_ref_sys`, in and out.
//!
//! Reading asks PROJ to *identify* the WKT with an EPSG code (ArcGIS writes ESRI
//! WKT without codes, e.g. `CGCS2000_3_Degree_GK_CM_120E` for EPSG:4549), so
//! everything after reading goes through the same [`Crs`] as a named CRS.
//! A WKT PROJ cannot read, or can read but not match to a code, is an error
//! that names what PROJ saw: guessing a CRS would put every point elsewhere.

use std::ffi::{c_int, CStr, CString};
use std::ptr;

use proj::wkt::WktVersion;
use proj::Proj;

use super::{Crs, CrsError};

/// PROJ's confidence (0–100) from which an identification is taken. GDAL uses
/// the same threshold (70) when it matches a `.prj` to an EPSG code.
const MIN_CONFIDENCE: c_int = 70;

impl Crs {
    /// The CRS a WKT (1 or 2, ESRI or OGC flavour) describes, matched to an
    /// EPSG code by PROJ (`proj_identify`).
    pub fn from_wkt(wkt: &str) -> Result<Crs, CrsError> {
        let text = wkt.trim().trim_start_matches('\u{feff}');
        let bad = |reason: String| CrsError::BadWkt {
            wkt: shorten(text),
            reason,
        };
        let c_text = CString::new(text).map_err(|_| bad("it holds a NUL byte".into()))?;
        let (found, logged) = super::proj_transform::capture(|| identify(&c_text));
        match found {
            Ok(Some(code)) => Ok(Crs::epsg(code)),
            Ok(None) => Err(bad(
                "PROJ reads it but matches it to no EPSG code; give the CRS by its code".into(),
            )),
            Err(what) => Err(bad(logged.filter(|m| !m.trim().is_empty()).unwrap_or(what))),
        }
    }

    /// The CRS as WKT for a file that other GIS software reads: ESRI WKT 1 for
    /// a Shapefile's `.prj` (what ArcGIS and GDAL write), WKT 2 for a
    /// GeoPackage. GCJ-02 and BD-09 have no definition anywhere: they are
    /// written as WGS84, which is how base-map tools treat them.
    pub fn to_wkt(&self, esri: bool) -> Result<String, CrsError> {
        let code = match self {
            Crs::Epsg(code) => *code,
            _ => 4326,
        };
        let version = if esri {
            WktVersion::Wkt1_Esri
        } else {
            WktVersion::Wkt2_2019
        };
        Proj::new(&format!("EPSG:{code}"))
            .ok()
            .and_then(|p| p.as_wkt(Some(version), None).ok())
            .ok_or_else(|| CrsError::UnknownEpsg {
                code,
                reason: "PROJ has no WKT for it".into(),
            })
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// `Ok(Some(code))` when PROJ matches the WKT to an EPSG code with enough
/// confidence, `Ok(None)` when it reads the WKT but matches nothing, `Err` when
/// it cannot read it as a CRS.
fn identify(wkt: &CStr) -> Result<Option<u32>, String> {
    // SAFETY: every object is created and destroyed here, on one context used
    // by this thread only; pointers are checked for null before use.
    unsafe {
        let ctx = proj_sys::proj_context_create();
        if ctx.is_null() {
            return Err("PROJ could not start".into());
        }
        let obj = proj_sys::proj_create(ctx, wkt.as_ptr());
        let result = if obj.is_null() {
            Err("PROJ cannot read it as a CRS".into())
        } else if !is_crs(proj_sys::proj_get_type(obj)) {
            Err("it is not a coordinate reference system".into())
        } else {
            Ok(best_code(ctx, obj))
        };
        if !obj.is_null() {
            proj_sys::proj_destroy(obj);
        }
        proj_sys::proj_context_destroy(ctx);
        result
    }
}

fn is_crs(kind: proj_sys::PJ_TYPE) -> bool {
    use proj_sys::*;
    matches!(
        kind,
        PJ_TYPE_PJ_TYPE_GEOGRAPHIC_2D_CRS
            | PJ_TYPE_PJ_TYPE_GEOGRAPHIC_3D_CRS
            | PJ_TYPE_PJ_TYPE_PROJECTED_CRS
            | PJ_TYPE_PJ_TYPE_COMPOUND_CRS
            | PJ_TYPE_PJ_TYPE_BOUND_CRS
            | PJ_TYPE_PJ_TYPE_GEOGRAPHIC_CRS
            | PJ_TYPE_PJ_TYPE_DERIVED_PROJECTED_CRS
    )
}

/// The EPSG code PROJ finds most likely (its list is sorted by confidence).
///
/// # Safety
/// `ctx` and `obj` must be live PROJ objects.
unsafe fn best_code(ctx: *mut proj_sys::PJ_CONTEXT, obj: *mut proj_sys::PJ) -> Option<u32> {
    let mut confidence: *mut c_int = ptr::null_mut();
    let epsg = c"EPSG";
    // SAFETY: as the function's contract; the list and the confidence array
    // are destroyed before returning.
    unsafe {
        let list = proj_sys::proj_identify(ctx, obj, epsg.as_ptr(), ptr::null(), &mut confidence);
        if list.is_null() {
            return None;
        }
        let count = proj_sys::proj_list_get_count(list);
        let mut found = None;
        if count > 0 && !confidence.is_null() && *confidence >= MIN_CONFIDENCE {
            let best = proj_sys::proj_list_get(ctx, list, 0);
            if !best.is_null() {
                let code = proj_sys::proj_get_id_code(best, 0);
                if !code.is_null() {
                    found = CStr::from_ptr(code)
                        .to_str()
                        .ok()
                        .and_then(|c| c.parse().ok());
                }
                proj_sys::proj_destroy(best);
            }
        }
        if !confidence.is_null() {
            proj_sys::proj_int_list_destroy(confidence);
        }
        proj_sys::proj_list_destroy(list);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ESRI WKT ArcGIS and GDAL write for a CGCS2000 zone has no code in
    /// it; PROJ matches it by its parameters.
    #[test]
    fn esri_wkt_of_a_gauss_kruger_zone_is_its_epsg_code() {
        let esri = Crs::Epsg(4549).to_wkt(true).unwrap();
        assert!(!esri.contains("4549"), "{esri}");
        assert_eq!(Crs::from_wkt(&esri).unwrap(), Crs::Epsg(4549));
        let wgs84 = Crs::Wgs84.to_wkt(false).unwrap();
        assert_eq!(Crs::from_wkt(&wgs84).unwrap(), Crs::Wgs84);
        let err = Crs::from_wkt("PROJCS[\"nonsense\"").unwrap_err();
        assert!(err.to_string().contains("nonsense"), "{err}");
    }
}
