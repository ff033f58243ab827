//! Key sites (村口 entrances, intersections, schools …): seen like households,
//! and counted by kind, because the targets are per kind ("every village entrance
//! is watched").

use super::{KindStats, SeenBy};
use crate::model::Site;
use std::collections::BTreeMap;

/// The kind a site is counted under: its `kind`, or `"unspecified"`.
pub(crate) fn kind_of(site: &Site) -> String {
    match site.kind.as_deref() {
        Some(k) if !k.is_empty() => k.to_string(),
        _ => "unspecified".to_string(),
    }
}

/// Sites and covered sites by kind, over all sites.
pub(crate) fn by_kind(sites: &[Site], seen: &SeenBy) -> BTreeMap<String, KindStats> {
    let mut out: BTreeMap<String, KindStats> = BTreeMap::new();
    for (i, s) in sites.iter().enumerate() {
        let k = out.entry(kind_of(s)).or_default();
        k.sites += 1;
        if seen.covered(i) {
            k.covered += 1;
        }
    }
    out
}
