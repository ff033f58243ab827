//! The lineage of a grids layer: every code its census updates have retired.
//!
//! The grids only hold the codes in use, so a code retired two updates ago
//! whose number is above every code still in use would look free to the next
//! update, and case files filed under it would attach to different ground. The
//! command line therefore keeps the lineage in a small JSON file beside the
//! grids, `NAME.lineage.json` next to `NAME.geojson`: `partition --out` writes
//! it (empty for a fresh partition), and `partition --previous NAME.geojson`
//! reads it, hands its codes to the update, and writes the grown lineage
//! beside its own output. The grids file itself is left exactly as the
//! contract describes it (a plain FeatureCollection), so GIS tools that drop
//! unknown members cannot lose the lineage by editing the grids.
//!
//! ```json
//! { "retired_codes": [ { "parent_code": "341102002", "code": "341102002014" } ] }
//! ```

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::partition::RetiredCode;

/// What a grids layer's lineage holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lineage {
    /// Codes retired by any update of the lineage, sorted by area and code;
    /// never handed out again in their area.
    pub retired_codes: Vec<RetiredCode>,
}

/// Why a lineage file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LineageError {
    #[error("not a lineage document ({{\"retired_codes\": [{{\"parent_code\": …, \"code\": …}}]}}): {0}")]
    Json(#[from] serde_json::Error),
    #[error("retired code {index} ({code:?}) does not begin with its parent_code {parent_code:?}")]
    Code {
        index: usize,
        code: String,
        parent_code: String,
    },
}

/// The lineage file that belongs to a grids file: `DIR/NAME.lineage.json` for
/// `DIR/NAME.geojson` (or any other extension).
pub fn lineage_path(grids: &Path) -> PathBuf {
    let stem = grids
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("grids");
    grids.with_file_name(format!("{stem}.lineage.json"))
}

/// Reads and checks a lineage document; the codes come back sorted and
/// without duplicates.
pub fn read_lineage(text: &str) -> Result<Lineage, LineageError> {
    checked(serde_json::from_str(text)?)
}

/// The lineage a FeatureCollection carries as a `retired_codes` member (how a
/// grids upload brings the command line's lineage into the service); empty
/// when it has none.
pub fn read_carried(collection: &str) -> Result<Lineage, LineageError> {
    #[derive(Deserialize)]
    struct Carried {
        #[serde(default)]
        retired_codes: Vec<RetiredCode>,
    }
    let c: Carried = serde_json::from_str(collection)?;
    checked(Lineage {
        retired_codes: c.retired_codes,
    })
}

/// Checks that every code begins with its parent code; sorts and dedups.
fn checked(mut l: Lineage) -> Result<Lineage, LineageError> {
    for (index, r) in l.retired_codes.iter().enumerate() {
        if r.parent_code.is_empty() || !r.code.starts_with(&r.parent_code) {
            return Err(LineageError::Code {
                index,
                code: r.code.clone(),
                parent_code: r.parent_code.clone(),
            });
        }
    }
    l.retired_codes.sort_by(|a, b| {
        a.parent_code
            .cmp(&b.parent_code)
            .then_with(|| a.code.cmp(&b.code))
    });
    l.retired_codes.dedup();
    Ok(l)
}

/// Reads the lineage beside a grids file; `None` when there is none. The
/// error names the file.
pub fn read_beside(grids: &Path) -> Result<Option<Lineage>, String> {
    let path = lineage_path(grids);
    match std::fs::read_to_string(&path) {
        Ok(text) => read_lineage(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes a lineage document (pretty-printed, one code per line).
pub fn write_lineage<W: Write>(mut out: W, lineage: &Lineage) -> io::Result<W> {
    serde_json::to_writer_pretty(&mut out, lineage)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_sorts_and_checks_codes() {
        let text = r#"{"retired_codes":[{"parent_code":"3411","code":"3411009"},
                       {"parent_code":"3411","code":"3411002"},{"parent_code":"3411","code":"3411009"}]}"#;
        let l = read_lineage(text).unwrap();
        let codes: Vec<&str> = l.retired_codes.iter().map(|r| r.code.as_str()).collect();
        assert_eq!(codes, ["3411002", "3411009"]);
        let back = String::from_utf8(write_lineage(Vec::new(), &l).unwrap()).unwrap();
        assert_eq!(read_lineage(&back).unwrap(), l);
        let bad = read_lineage(r#"{"retired_codes":[{"parent_code":"35","code":"3411009"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(bad.contains("3411009") && bad.contains("35"), "{bad}");
        assert!(read_lineage(r#"{"retired":[]}"#).is_err());
        assert_eq!(
            lineage_path(Path::new("out/grids-2025.geojson")),
            Path::new("out/grids-2025.lineage.json")
        );
    }
}
