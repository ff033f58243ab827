//! Household totals from the seen-by table: a location carries `households`
//! households (and optionally `persons`), so coverage is weighted by those counts,
//! not by the number of points.

use super::SeenBy;
use crate::model::Household;

/// (locations, households, covered households, persons, covered persons).
pub(crate) fn totals(households: &[Household], seen: &SeenBy) -> (usize, u64, u64, u64, u64) {
    let mut t = (households.len(), 0u64, 0u64, 0u64, 0u64);
    for (i, h) in households.iter().enumerate() {
        let n = h.households as u64;
        let p = h.persons.unwrap_or(0) as u64;
        t.1 += n;
        t.3 += p;
        if seen.covered(i) {
            t.2 += n;
            t.4 += p;
        }
    }
    t
}
