//! Which code each grid of an updated area takes: a new or adjusted grid
//! inherits the code of the previous grid it overlaps most (one to one), and
//! the others get sequence numbers above the highest the area ever had, so a
//! retired code is never handed out again.

use super::super::codes::grid_code;
use super::RetiredCode;

/// Matches new grids to previous grids one to one, largest overlaps first.
/// `overlaps` holds (overlap, new grid, previous grid) for `k` new and `m`
/// previous grids. Returns the previous grid each new grid inherits its code
/// from, and which previous grids passed their code on.
pub(super) fn match_by_overlap(
    mut overlaps: Vec<(f64, usize, usize)>,
    k: usize,
    m: usize,
) -> (Vec<Option<usize>>, Vec<bool>) {
    overlaps.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut code_of: Vec<Option<usize>> = vec![None; k];
    let mut taken = vec![false; m];
    for &(_, i, j) in &overlaps {
        if code_of[i].is_none() && !taken[j] {
            code_of[i] = Some(j);
            taken[j] = true;
        }
    }
    (code_of, taken)
}

/// Sequence number and width of a grid code's suffix after the area code.
fn sequence_of(code: &str, area_code: &str) -> Option<(u64, usize)> {
    let s = code.strip_prefix(area_code)?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().map(|n| (n, s.len()))
}

/// Codes for new grids: numbers above the highest the area ever had, so a
/// retired code is never handed out again.
pub(super) struct CodeSource {
    next: u64,
    width: usize,
}

impl CodeSource {
    pub(super) fn new(area_code: &str, old_codes: &[&str], retired: &[RetiredCode]) -> Self {
        let mut max = 0u64;
        let mut width = 3usize;
        let earlier = retired
            .iter()
            .filter(|r| r.parent_code == area_code)
            .map(|r| r.code.as_str());
        for c in old_codes.iter().copied().chain(earlier) {
            if let Some((n, w)) = sequence_of(c, area_code) {
                max = max.max(n);
                width = width.max(w);
            }
        }
        CodeSource {
            next: max + 1,
            width,
        }
    }

    pub(super) fn take(&mut self, area_code: &str) -> String {
        let c = grid_code(area_code, self.next as usize, self.width);
        self.next += 1;
        c
    }
}
