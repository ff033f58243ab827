//! Reusable marks for graph searches, so the many small searches of the
//! bisection and the moves neither allocate nor clear a visited set.

/// Reusable marks for graph searches: a node is marked in the current search
/// when its mark equals the stamp [`Scratch::next`] handed out.
pub(crate) struct Scratch {
    pub(crate) mark: Vec<u32>,
    stamp: u32,
    pub(super) stack: Vec<u32>,
}

impl Scratch {
    pub(crate) fn new(n: usize) -> Self {
        Scratch {
            mark: vec![0; n],
            stamp: 0,
            stack: Vec::new(),
        }
    }

    /// A fresh stamp: no node carries it yet.
    pub(crate) fn next(&mut self) -> u32 {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.mark.iter_mut().for_each(|m| *m = 0);
            self.stamp = 1;
        }
        self.stamp
    }
}
