//! EPSG codes through PROJ.
//!
//! # Threads
//!
//! A `proj::Proj` is neither `Send` nor `Sync` (it owns a PROJ context, which must
//! not be used from two threads at once). Rather than make our transformers
//! `!Send` (they would then be useless in rayon code and in actix handlers), they
//! hold only the EPSG code and a direction, and each thread builds its own `Proj`
//! on first use and keeps it in a small thread-local cache. Building one costs about
//! a millisecond (a few look-ups in the embedded `proj.db`), once per thread and
//! code; after that a conversion is a cache look-up plus PROJ's own work.
//!
//! What we learn about a code (is it known, is it a horizontal CRS, its area of use)
//! does not depend on the thread, so it is computed once per process and kept in a
//! global table: asking for the same code again (say, on every upload) is cheap.
//!
//! # Axis order
//!
//! `Proj::new_known_crs` runs `proj_normalize_for_visualization`, so input and
//! output are always easting/northing and longitude/latitude, whatever the EPSG
//! definition says (EPSG:4326 is officially lat/lon, and several Chinese
//! Gauss–Krüger CRSs are officially northing/easting). The tests check this against
//! pyproj with `always_xy=True`.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::{Mutex, Once, OnceLock};

use geo_types::Coord;
use proj::Proj;

use super::area::{AreaOfUse, Direction, DOMAIN_MARGIN_DEG};
use super::error::At;
use super::{Crs, CrsError};

/// Most `Proj` objects kept per thread; beyond that the oldest is dropped.
const CACHE_PER_THREAD: usize = 32;

thread_local! {
    /// The last message PROJ logged on this thread (see [`capture_proj_log`]).
    static LAST_PROJ_MESSAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// PROJ's log callback: keeps the message for our error instead of printing it.
///
/// By default PROJ writes errors such as `proj_create: crs not found: EPSG:999999`
/// to stderr, which would break the command line's one-line error reports, while
/// its error codes alone say only "Unknown error (code 4096)". Our contexts are used
/// by one thread at a time, so the callback runs on the thread that made the call.
unsafe extern "C" fn capture_proj_log(_app: *mut c_void, _level: c_int, msg: *const c_char) {
    if msg.is_null() {
        return;
    }
    // SAFETY: PROJ passes a NUL-terminated string valid for the call.
    let text = unsafe { CStr::from_ptr(msg) }
        .to_string_lossy()
        .into_owned();
    // Never panic across the FFI boundary: ignore a busy or destroyed slot.
    let _ = LAST_PROJ_MESSAGE.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = Some(text);
        }
    });
}

/// Installs [`capture_proj_log`] on PROJ's default context, once per process,
/// before we create any context: `proj_context_create` copies the default
/// context's logger into every new context.
fn install_proj_log() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a null context means the default one; the callback is a plain
        // function that lives for the whole program.
        unsafe {
            proj_sys::proj_log_func(
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                Some(capture_proj_log),
            )
        }
    });
}

/// Clears this thread's last PROJ message, runs `f`, and returns what PROJ
/// logged meanwhile, if anything.
fn capturing<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    install_proj_log();
    LAST_PROJ_MESSAGE.with(|m| m.borrow_mut().take());
    let r = f();
    (r, LAST_PROJ_MESSAGE.with(|m| m.borrow_mut().take()))
}

/// [`capturing`] for the crate's other PROJ calls (`crs::wkt`), with the
/// message cleaned as every other PROJ reason is.
pub(crate) fn capture<R>(f: impl FnOnce() -> R) -> (R, Option<String>) {
    let (r, logged) = capturing(f);
    (r, logged.map(|m| proj_reason(&m)))
}

/// The best reason for a failure: PROJ's logged message if there was one, else
/// the proj crate's error text without its wrapper.
fn reason(logged: Option<String>, error: &dyn std::fmt::Display) -> String {
    match logged {
        Some(m) if !m.trim().is_empty() => proj_reason(&m),
        _ => proj_reason(&error.to_string()),
    }
}

/// What PROJ tells us about an EPSG code, independent of threads.
#[derive(Debug, Clone)]
struct CodeInfo {
    area: Option<AreaOfUse>,
    /// The CRS's official first axis points north or south (latitude or
    /// northing first: EPSG:4326, the CGCS2000 Gauss–Krüger zones).
    northing_first: bool,
}

/// Codes whose PROJ answer is remembered at most: a real deployment uses a
/// handful, and requests naming ever new codes (valid or not) must not grow
/// the table without bound.
const CODE_TABLE_MAX: usize = 1024;

fn code_table() -> &'static Mutex<HashMap<u32, Result<CodeInfo, CrsError>>> {
    static TABLE: OnceLock<Mutex<HashMap<u32, Result<CodeInfo, CrsError>>>> = OnceLock::new();
    TABLE.get_or_init(Default::default)
}

fn code_info(code: u32) -> Result<CodeInfo, CrsError> {
    let table = code_table();
    if let Some(known) = table.lock().unwrap_or_else(|e| e.into_inner()).get(&code) {
        return known.clone();
    }
    // Computed outside the lock: two threads may both do it once, harmlessly.
    let info = inspect(code);
    let mut known = table.lock().unwrap_or_else(|e| e.into_inner());
    if known.len() >= CODE_TABLE_MAX {
        known.clear();
    }
    known.insert(code, info.clone());
    info
}

/// The EPSG codes of every CRS in PROJ's database, read once per process.
///
/// An unknown code must be refused before any [`Proj`] is made for it: when
/// PROJ cannot create the object, the `proj` crate's error path does not
/// destroy the context it made for the call, and each such context holds about
/// 200 kB of PROJ's database caches. Requests naming ever new codes would grow
/// the process without bound (the `crs_name` fuzz target found it: 3 GB after
/// 13,000 unknown codes).
fn known_codes() -> &'static HashSet<u32> {
    static CODES: OnceLock<HashSet<u32>> = OnceLock::new();
    CODES.get_or_init(|| {
        install_proj_log();
        let authority = CString::new("EPSG").expect("no NUL");
        let mut codes = HashSet::new();
        // SAFETY: a context of our own, used on this thread only and destroyed
        // here; the string list is read before PROJ frees it, and it ends with
        // a null pointer.
        unsafe {
            let ctx = proj_sys::proj_context_create();
            let list = proj_sys::proj_get_codes_from_database(
                ctx,
                authority.as_ptr(),
                proj_sys::PJ_TYPE_PJ_TYPE_CRS,
                1, // deprecated codes still name their CRS
            );
            if !list.is_null() {
                let mut entry = list;
                while !(*entry).is_null() {
                    if let Some(code) = CStr::from_ptr(*entry)
                        .to_str()
                        .ok()
                        .and_then(|c| c.parse().ok())
                    {
                        codes.insert(code);
                    }
                    entry = entry.add(1);
                }
                proj_sys::proj_string_list_destroy(list);
            }
            proj_sys::proj_context_destroy(ctx);
        }
        codes
    })
}

/// A PROJ context of our own for one question, destroyed when dropped.
///
/// Questions that may fail are asked through `proj_sys` on such a context
/// rather than through the `proj` crate, whose constructors do not destroy
/// their context when PROJ refuses (a leak of about 200 kB a time).
struct Context(*mut proj_sys::PJ_CONTEXT);

impl Context {
    fn new() -> Context {
        // Contexts copy the default context's logger, so install it first.
        install_proj_log();
        // SAFETY: a plain constructor; the context is destroyed in Drop.
        Context(unsafe { proj_sys::proj_context_create() })
    }

    /// Runs `create` on this context; `Err` with PROJ's message when it
    /// answers null, else hands the object to `read` and destroys it after.
    fn with_object<R>(
        &self,
        create: impl FnOnce(*mut proj_sys::PJ_CONTEXT) -> *mut proj_sys::PJ,
        read: impl FnOnce(*mut proj_sys::PJ_CONTEXT, *mut proj_sys::PJ) -> R,
    ) -> Result<R, String> {
        let (pj, logged) = capturing(|| create(self.0));
        if pj.is_null() {
            return Err(reason(logged, &"PROJ could not create the object"));
        }
        let r = read(self.0, pj);
        // SAFETY: `pj` was made on this context and is not used after this.
        unsafe { proj_sys::proj_destroy(pj) };
        Ok(r)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: every object made on the context was destroyed already.
        unsafe { proj_sys::proj_context_destroy(self.0) };
    }
}

/// The PROJJSON `type` of a PROJ object, e.g. `ProjectedCRS`.
///
/// # Safety
/// `ctx` and `pj` must be live, `pj` made on `ctx`.
unsafe fn projjson_type(ctx: *mut proj_sys::PJ_CONTEXT, pj: *mut proj_sys::PJ) -> String {
    let json = unsafe { proj_sys::proj_as_projjson(ctx, pj, std::ptr::null()) };
    if json.is_null() {
        return "object of unknown type".to_string();
    }
    let text = unsafe { CStr::from_ptr(json) }.to_string_lossy();
    serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("type").and_then(|t| t.as_str()).map(str::to_string))
        .unwrap_or_else(|| "object of unknown type".to_string())
}

/// Where a PROJ object is meant to be used, when PROJ knows.
///
/// # Safety
/// `ctx` and `pj` must be live, `pj` made on `ctx`.
unsafe fn area_of_use(ctx: *mut proj_sys::PJ_CONTEXT, pj: *mut proj_sys::PJ) -> Option<AreaOfUse> {
    let (mut west, mut south, mut east, mut north) = (0.0, 0.0, 0.0, 0.0);
    let known = unsafe {
        proj_sys::proj_get_area_of_use(
            ctx,
            pj,
            &mut west,
            &mut south,
            &mut east,
            &mut north,
            std::ptr::null_mut(),
        )
    };
    // PROJ answers -1000 for the parts it does not know.
    let plausible = [west, east].iter().all(|v| (-180.0..=180.0).contains(v))
        && [south, north].iter().all(|v| (-90.0..=90.0).contains(v));
    (known != 0 && plausible).then_some(AreaOfUse {
        west,
        south,
        east,
        north,
    })
}

/// Asks PROJ whether it knows the code, and what kind of object it is.
fn inspect(code: u32) -> Result<CodeInfo, CrsError> {
    if !known_codes().contains(&code) {
        return Err(CrsError::UnknownEpsg {
            code,
            reason: format!("crs not found: EPSG:{code} is not in PROJ's EPSG database"),
        });
    }
    let name = CString::new(format!("EPSG:{code}")).expect("no NUL");
    let ctx = Context::new();
    let (kind, area, northing_first) = ctx
        .with_object(
            // SAFETY: a live context and a NUL-terminated name.
            |c| unsafe { proj_sys::proj_create(c, name.as_ptr()) },
            // SAFETY: the object was just made on this context.
            |c, pj| unsafe {
                (
                    projjson_type(c, pj),
                    area_of_use(c, pj),
                    first_axis_north(c, pj),
                )
            },
        )
        .map_err(|reason| CrsError::UnknownEpsg { code, reason })?;
    // GeodeticCRS in PROJJSON is a geocentric (cartesian) one; geographic ones are
    // GeographicCRS. A compound CRS (horizontal + height) converts its horizontal part.
    let horizontal = matches!(
        kind.as_str(),
        "GeographicCRS"
            | "ProjectedCRS"
            | "DerivedGeographicCRS"
            | "DerivedProjectedCRS"
            | "CompoundCRS"
            | "BoundCRS"
    );
    if !horizontal {
        return Err(CrsError::NotHorizontal {
            code,
            kind: describe_kind(&kind),
        });
    }
    Ok(CodeInfo {
        area,
        northing_first,
    })
}

/// Whether the first axis of a CRS's coordinate system points north or south
/// (its official order is latitude or northing first). False for anything
/// without a coordinate system of its own (a compound or bound CRS).
///
/// # Safety
/// `ctx` and `pj` must be live, `pj` made on `ctx`.
unsafe fn first_axis_north(ctx: *mut proj_sys::PJ_CONTEXT, pj: *mut proj_sys::PJ) -> bool {
    let cs = unsafe { proj_sys::proj_crs_get_coordinate_system(ctx, pj) };
    if cs.is_null() {
        return false;
    }
    let mut direction: *const c_char = std::ptr::null();
    // SAFETY: `cs` is live; the outputs we do not want are null, which PROJ
    // allows; the direction string lives as long as `cs`.
    let north = unsafe {
        let ok = proj_sys::proj_cs_get_axis_info(
            ctx,
            cs,
            0,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut direction,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        ) != 0;
        ok && !direction.is_null() && {
            let d = CStr::from_ptr(direction).to_bytes();
            d.eq_ignore_ascii_case(b"north") || d.eq_ignore_ascii_case(b"south")
        }
    };
    // SAFETY: made above on this context, not used after.
    unsafe { proj_sys::proj_destroy(cs) };
    north
}

/// Whether EPSG:`code`'s official axis order puts latitude or northing
/// first (see [`super::Crs::northing_first`]).
pub(crate) fn northing_first(code: u32) -> Result<bool, CrsError> {
    code_info(code).map(|i| i.northing_first)
}

/// PROJ's messages come wrapped by the proj crate and prefixed with the PROJ
/// function that failed; keep only what a user can act on.
fn proj_reason(message: &str) -> String {
    let mut m = message.trim();
    for wrapper in [
        "The underlying PROJ call failed: ",
        "The conversion failed with the following error: ",
        "The projection failed with the following error: ",
    ] {
        m = m.strip_prefix(wrapper).unwrap_or(m);
    }
    if let Some((func, rest)) = m.split_once(": ") {
        if func.starts_with("proj_") && !func.contains(' ') {
            m = rest;
        }
    }
    m.to_string()
}

/// Words for a PROJJSON `type`, for error messages.
fn describe_kind(kind: &str) -> String {
    match kind {
        "GeodeticCRS" => "geocentric (earth-centred cartesian) CRS".to_string(),
        "VerticalCRS" => "vertical (height or depth) CRS".to_string(),
        "EngineeringCRS" => "engineering (local) CRS".to_string(),
        "TemporalCRS" => "temporal CRS".to_string(),
        "ParametricCRS" => "parametric CRS".to_string(),
        other => other.to_string(),
    }
}

thread_local! {
    static CACHE: RefCell<Vec<((u32, Direction), Proj)>> = const { RefCell::new(Vec::new()) };
}

/// Transformations PROJ could not build, remembered so that they are not
/// asked again: each failed attempt leaks a PROJ context (see
/// [`known_codes`]). Bounded by the codes in PROJ's database.
fn unbuildable() -> &'static Mutex<HashMap<(u32, Direction), CrsError>> {
    static FAILED: OnceLock<Mutex<HashMap<(u32, Direction), CrsError>>> = OnceLock::new();
    FAILED.get_or_init(Default::default)
}

fn build(code: u32, dir: Direction) -> Result<Proj, CrsError> {
    let failed = unbuildable();
    if let Some(e) = failed
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&(code, dir))
    {
        return Err(e.clone());
    }
    let built = build_new(code, dir);
    if let Err(e) = &built {
        failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((code, dir), e.clone());
    }
    built
}

fn build_new(code: u32, dir: Direction) -> Result<Proj, CrsError> {
    let epsg = format!("EPSG:{code}");
    let (from, to) = match dir {
        Direction::ToWgs84 => (epsg.as_str(), "EPSG:4326"),
        Direction::FromWgs84 => ("EPSG:4326", epsg.as_str()),
    };
    // Asked first on a context of our own, so a refusal leaks nothing; the
    // `proj` crate then builds the transformer PROJ has just agreed to.
    let (c_from, c_to) = (
        CString::new(from).expect("no NUL"),
        CString::new(to).expect("no NUL"),
    );
    let checked = Context::new().with_object(
        // SAFETY: a live context and NUL-terminated names; no area of interest.
        |c| unsafe {
            proj_sys::proj_create_crs_to_crs(
                c,
                c_from.as_ptr(),
                c_to.as_ptr(),
                std::ptr::null_mut(),
            )
        },
        |_, _| (),
    );
    if let Err(reason) = checked {
        let (from, to) = endpoints(code, dir);
        return Err(CrsError::NoTransformation { from, to, reason });
    }
    let (proj, logged) = capturing(|| Proj::new_known_crs(from, to, None));
    proj.map_err(|e| {
        let (from, to) = endpoints(code, dir);
        CrsError::NoTransformation {
            from,
            to,
            reason: reason(logged, &e),
        }
    })
}

fn endpoints(code: u32, dir: Direction) -> (Crs, Crs) {
    match dir {
        Direction::ToWgs84 => (Crs::Epsg(code), Crs::Wgs84),
        Direction::FromWgs84 => (Crs::Wgs84, Crs::Epsg(code)),
    }
}

/// Runs `f` with this thread's `Proj` for `(code, dir)`, building it if needed.
fn with_proj<R>(code: u32, dir: Direction, f: impl FnOnce(&Proj) -> R) -> Result<R, CrsError> {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        let pos = match cache.iter().position(|(k, _)| *k == (code, dir)) {
            Some(pos) => pos,
            None => {
                let proj = build(code, dir)?;
                if cache.len() >= CACHE_PER_THREAD {
                    cache.remove(0);
                }
                cache.push(((code, dir), proj));
                cache.len() - 1
            }
        };
        Ok(f(&cache[pos].1))
    })
}

/// A PROJ transformation between EPSG:`code` and WGS84 lon/lat, `Send + Sync`
/// and cheap to clone (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct ProjOp {
    code: u32,
    dir: Direction,
    area: Option<AreaOfUse>,
}

impl ProjOp {
    /// Checks the code with PROJ and builds this thread's transformer, so that
    /// every error about the CRS itself surfaces here rather than per point.
    pub(crate) fn new(code: u32, dir: Direction) -> Result<ProjOp, CrsError> {
        let info = code_info(code)?;
        with_proj(code, dir, |_| ())?;
        Ok(ProjOp {
            code,
            dir,
            area: info.area,
        })
    }

    pub(crate) fn area_of_use(&self) -> Option<AreaOfUse> {
        self.area
    }

    fn in_domain(&self, lon: f64, lat: f64) -> bool {
        match self.area {
            Some(a) => a.contains_with_margin(lon, lat, DOMAIN_MARGIN_DEG),
            None => true,
        }
    }

    fn out_of_domain(&self, at: At, x: f64, y: f64, lon: f64, lat: f64) -> CrsError {
        CrsError::OutOfDomain {
            at,
            crs: Crs::Epsg(self.code),
            x,
            y,
            lon,
            lat,
            area: self.area.map(|a| a.to_string()).unwrap_or_default(),
        }
    }

    fn transform_error(&self, at: At, x: f64, y: f64, reason: String) -> CrsError {
        let (from, to) = endpoints(self.code, self.dir);
        CrsError::Transform {
            at,
            from,
            to,
            x,
            y,
            reason,
        }
    }

    /// Checks one input/output pair: finite input, finite output, latitude in
    /// range, and inside the (widened) area of use.
    fn check(&self, at: At, input: Coord, output: Coord) -> Result<(), CrsError> {
        let (x, y) = (input.x, input.y);
        if !x.is_finite() || !y.is_finite() {
            return Err(CrsError::NonFinite { at, x, y });
        }
        if !output.x.is_finite() || !output.y.is_finite() {
            return Err(self.transform_error(at, x, y, "PROJ gave a non-finite result".into()));
        }
        let (lon, lat) = match self.dir {
            Direction::ToWgs84 => (output.x, output.y),
            Direction::FromWgs84 => (x, y),
        };
        if lat.abs() > 90.0 {
            return Err(self.transform_error(at, x, y, format!("latitude {lat} is beyond ±90°")));
        }
        if !self.in_domain(lon, lat) {
            return Err(self.out_of_domain(at, x, y, lon, lat));
        }
        Ok(())
    }

    fn convert_one(&self, proj: &Proj, at: At, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        let input = Coord { x, y };
        if !x.is_finite() || !y.is_finite() {
            return Err(CrsError::NonFinite { at, x, y });
        }
        let (output, logged) = capturing(|| proj.convert(input));
        let output: Coord =
            output.map_err(|e| self.transform_error(at, x, y, reason(logged, &e)))?;
        self.check(at, input, output)?;
        Ok((output.x, output.y))
    }

    pub(crate) fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        with_proj(self.code, self.dir, |proj| {
            self.convert_one(proj, At(None), x, y)
        })?
    }

    /// Converts a chunk in place with one PROJ batch call; the indices in errors
    /// are relative to the chunk. On error the chunk is partly converted.
    pub(crate) fn convert_chunk(&self, chunk: &mut [Coord]) -> Result<(), CrsError> {
        with_proj(self.code, self.dir, |proj| {
            let original = chunk.to_vec();
            if let Some(i) = original
                .iter()
                .position(|c| !c.x.is_finite() || !c.y.is_finite())
            {
                let c = original[i];
                return Err(CrsError::NonFinite {
                    at: At(Some(i)),
                    x: c.x,
                    y: c.y,
                });
            }
            if proj.convert_array(chunk).is_err() {
                // Some point failed; redo one by one to say which and why.
                for (i, (c, o)) in chunk.iter_mut().zip(&original).enumerate() {
                    let (x, y) = self.convert_one(proj, At(Some(i)), o.x, o.y)?;
                    *c = Coord { x, y };
                }
                return Ok(());
            }
            for (i, (o, c)) in original.iter().zip(chunk.iter()).enumerate() {
                self.check(At(Some(i)), *o, *c)?;
            }
            Ok(())
        })?
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_code_table_stays_bounded() {
        // Ever new codes, known to PROJ or not, each answered once.
        for code in 900_000..900_000 + 2 * super::CODE_TABLE_MAX as u32 {
            let _ = super::code_info(code);
        }
        let len = super::code_table().lock().unwrap().len();
        assert!(len <= super::CODE_TABLE_MAX, "{len} codes remembered");
    }

    use super::*;

    #[test]
    fn area_margin() {
        let a = AreaOfUse {
            west: 118.5,
            south: 24.0,
            east: 121.5,
            north: 41.0,
        };
        assert!(a.contains_with_margin(117.8, 32.0, 10.0));
        assert!(!a.contains_with_margin(150.0, 32.0, 10.0));
        assert!(!a.contains_with_margin(118.0, -20.0, 10.0));
        let world = AreaOfUse {
            west: -180.0,
            south: -90.0,
            east: 180.0,
            north: 90.0,
        };
        assert!(world.contains_with_margin(179.9, 0.0, 10.0));
        // Across the antimeridian.
        let pacific = AreaOfUse {
            west: 170.0,
            south: -50.0,
            east: -170.0,
            north: 0.0,
        };
        assert!(pacific.contains_with_margin(-175.0, -10.0, 0.0));
        assert!(pacific.contains_with_margin(175.0, -10.0, 0.0));
        assert!(!pacific.contains_with_margin(0.0, -10.0, 0.0));
        // Margin spilling over ±180.
        let east = AreaOfUse {
            west: 175.0,
            south: 0.0,
            east: 180.0,
            north: 10.0,
        };
        assert!(east.contains_with_margin(-175.0, 5.0, 10.0));
    }
}
