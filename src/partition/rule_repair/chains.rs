//! Ejection chains: a surplus or a shortfall passed along several grids.

use super::{Rebalance, CHAIN_DEPTH, FIRST_LINKS};

/// A link of a chain: node, region it leaves, region it joins.
type Link = (u32, usize, usize);
/// How a link ranks: breach left, node weight, node, other region.
type LinkKey = (u64, u64, u32, usize);

impl Rebalance<'_> {
    /// Ejection chain: r passes a node to a neighbour, which passes one on,
    /// until a grid with room takes the surplus (or, for a grid below the
    /// minimum, a neighbour gives a node and takes one from further on, down
    /// to a grid that can be emptied). The first link tries the
    /// [`FIRST_LINKS`] best choices, later links the best that keeps both
    /// grids connected; a chain is kept only when the total breach drops.
    pub(super) fn eject(&mut self, r: usize) -> bool {
        let before = self.total_breach();
        let over = self.hh[r] > self.limits.max;
        let firsts = self.chain_links(r, over, &[r]);
        for &first in firsts.iter().take(FIRST_LINKS) {
            let saved = self.save();
            self.follow_chain(r, over, first);
            let after = self.total_breach();
            if after < before {
                return true;
            }
            self.restore(saved);
        }
        false
    }

    /// Makes the chain that starts at r with link `first`.
    pub(super) fn follow_chain(&mut self, r: usize, over: bool, first: (u32, usize, usize)) {
        let mut visited = vec![r];
        let mut link = Some(first);
        for _ in 0..CHAIN_DEPTH {
            let Some((v, from, to)) = link else { break };
            if !self.stays_connected_without(v, from) {
                break;
            }
            self.assign(v, to);
            let next = if over { to } else { from };
            visited.push(next);
            if self.breach(next) == 0 {
                break;
            }
            let options = self.chain_links(next, over, &visited);
            link = None;
            for (v, from, to) in options {
                if self.stays_connected_without(v, from) {
                    link = Some((v, from, to));
                    break;
                }
            }
        }
    }

    /// The links of an ejection chain at region `cur`, best first: a node it
    /// gives to a neighbour (`over`) or takes from one, outside the chain so
    /// far, ranked by the breach left at `cur` (lighter nodes first on ties).
    pub(super) fn chain_links(
        &self,
        cur: usize,
        over: bool,
        visited: &[usize],
    ) -> Vec<(u32, usize, usize)> {
        let mine = self.members(cur);
        let mut links: Vec<(LinkKey, Link)> = Vec::new();
        for &x in &mine {
            for &y in self.g.neighbours(x) {
                let other = self.part[y as usize] as usize;
                if other == cur || visited.contains(&other) {
                    continue;
                }
                let (v, from, to) = if over {
                    (x, cur, other)
                } else {
                    (y, other, cur)
                };
                let wv = self.w[v as usize];
                if self.fixed[v as usize] || wv == 0 {
                    continue;
                }
                let pv = self.pp[v as usize];
                let left = if over {
                    self.limits
                        .breach(self.hh[cur] - wv, self.persons[cur] - pv)
                } else {
                    self.limits
                        .breach(self.hh[cur] + wv, self.persons[cur] + pv)
                };
                links.push(((left, wv, v, other), (v, from, to)));
            }
        }
        links.sort_by_key(|l| l.0);
        links.dedup_by_key(|l| l.1);
        links.into_iter().map(|l| l.1).collect()
    }
}
