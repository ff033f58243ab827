//! Where a converted layer's features came from ([`Origin`]): kept out of
//! `formats` so that a build without the file formats still reads GeoJSON
//! through the same code.

/// Where a converted layer's features came from, so a rejection names the
/// record of the file (and the row of a spreadsheet) rather than a position
/// in the converted collection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Origin {
    /// For each feature of the converted collection, its record in the file
    /// (from 0).
    pub records: Vec<usize>,
    /// Records in the file, refused ones included (empty spreadsheet rows are
    /// not records).
    pub total: usize,
    /// Records refused while converting, with their record as `index`.
    pub rejected: Vec<super::Rejection>,
    /// For spreadsheets: the row number (as Excel and text editors count,
    /// from 1) of record 0; each record `i` is on row `first_row + i`.
    pub first_row: Option<usize>,
    /// What the file was, for the report (e.g. "Shapefile, GBK text").
    pub source: String,
}

impl Origin {
    /// The file's record and (for spreadsheets) row of feature `index` of
    /// the converted collection.
    pub(crate) fn locate(&self, index: usize) -> (usize, Option<usize>) {
        let record = self.records.get(index).copied().unwrap_or(index);
        (record, self.first_row.map(|f| f + record))
    }

    /// Rewrites a report made on the converted collection in the file's terms.
    pub(super) fn apply(&self, report: &mut super::LayerReport) {
        for r in &mut report.rejections {
            r.index = self.records.get(r.index).copied().unwrap_or(r.index);
        }
        report.rejections.extend(self.rejected.iter().cloned());
        report.rejections.sort_by_key(|r| r.index);
        if let Some(first) = self.first_row {
            for r in &mut report.rejections {
                r.row = Some(first + r.index);
            }
        }
        report.rejected = report.rejections.len();
        report.features = self.total;
        report.read_from = Some(self.source.clone());
    }
}
