//! Grid codes: the area's code followed by a zero-padded sequence number.
//!
//! Scheme: `{area code}{seq}` with `seq` = 001, 002 … (three digits, or more
//! when an area has more than 999 grids, the same width for all grids of that
//! area). E.g. community `341102001001` → grids `341102001001001`,
//! `341102001001002` …, in the style of CJ/T 349-2010 unit-grid codes. Numbers
//! follow reading order (north to south in bands about one grid high, west to
//! east within a band) so neighbouring codes are neighbouring grids, and the
//! same input always gives the same codes.

use geo_types::Coord;

/// Region indices in reading order. `area_per_grid` (m²) sets the band height.
pub(crate) fn reading_order(centroids: &[Coord<f64>], area_per_grid: f64) -> Vec<usize> {
    let band = area_per_grid.max(1.0).sqrt();
    let top = centroids
        .iter()
        .map(|c| c.y)
        .fold(f64::NEG_INFINITY, f64::max);
    let mut idx: Vec<usize> = (0..centroids.len()).collect();
    idx.sort_by(|&a, &b| {
        let ba = ((top - centroids[a].y) / band).floor();
        let bb = ((top - centroids[b].y) / band).floor();
        ba.total_cmp(&bb)
            .then(centroids[a].x.total_cmp(&centroids[b].x))
            .then(a.cmp(&b))
    });
    idx
}

/// Digits of the sequence part for an area with k grids (at least 3).
pub(crate) fn sequence_width(k: usize) -> usize {
    k.max(1).to_string().len().max(3)
}

pub(crate) fn grid_code(area_code: &str, seq: usize, width: usize) -> String {
    format!("{area_code}{seq:0width$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_padded_and_ordered() {
        assert_eq!(
            grid_code("341102001001", 7, sequence_width(12)),
            "341102001001007"
        );
        assert_eq!(sequence_width(1000), 4);
        let c = [
            Coord { x: 10.0, y: 0.0 },
            Coord { x: 0.0, y: 100.0 },
            Coord { x: 0.0, y: 0.0 },
        ];
        assert_eq!(reading_order(&c, 100.0), vec![1, 2, 0]);
    }
}
