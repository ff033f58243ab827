//! What happened to each feature of a layer: accepted, rejected (and why), or
//! accepted with defaults filled in or an unambiguous repair.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// One rejected feature.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Rejection {
    /// Position of the feature in the input `features` array, from 0.
    pub index: usize,
    /// For spreadsheets, the row the record is on, counted from 1 as Excel
    /// does (the header row included).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// The feature's id (its `id` member or id property), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.row {
            Some(row) => write!(f, "row {row}")?,
            None => write!(f, "feature {}", self.index)?,
        }
        if let Some(id) = &self.id {
            write!(f, " (id {id})")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// The outcome of reading one layer.
#[derive(Debug, Clone, Serialize, Default)]
pub struct LayerReport {
    pub layer: String,
    /// What the file was when it was not GeoJSON (format, encoding, CRS
    /// source), e.g. `"Shapefile roads.shp, GBK text (.cpg), EPSG:4549 (.prj)"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
    /// The CRS the coordinates were read in.
    pub crs: String,
    /// Features in the input.
    pub features: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Every rejection, in input order.
    pub rejections: Vec<Rejection>,
    /// How often each default was applied, e.g. `"fov_deg=360 (dome)": 12`.
    pub defaults: BTreeMap<String, usize>,
    /// How often each unambiguous repair was made, e.g. `"repeated positions removed"`.
    pub repairs: BTreeMap<String, usize>,
    /// How often a property the contract lists was present but not used,
    /// e.g. `"height_m (sight lines are two-dimensional)": 40`, so nobody
    /// believes it was taken into account.
    pub ignored: BTreeMap<String, usize>,
}

impl LayerReport {
    /// One line for a terminal: counts and the first few reasons.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} features, {} accepted, {} rejected (crs {})",
            self.layer, self.features, self.accepted, self.rejected, self.crs
        );
        if let Some(source) = &self.read_from {
            s.push_str(&format!("; read from {source}"));
        }
        for (what, n) in &self.defaults {
            s.push_str(&format!("; default {what} ×{n}"));
        }
        for (what, n) in &self.repairs {
            s.push_str(&format!("; repaired {what} ×{n}"));
        }
        for (what, n) in &self.ignored {
            s.push_str(&format!("; not used: {what} ×{n}"));
        }
        s
    }
}
