//! Counties: the unit a province's partition is cut into so that several
//! workers can share it.
//!
//! A county is the first six digits of an area code (GB/T 2260: province,
//! city, county), so the areas of one county are partitioned together and
//! a county's grids are exactly those the whole partition draws for it
//! ([`super::partition_selected`]). Each county also gets the bounding box of
//! its areas: the households a county's shard has to read are those in that
//! box, and a household outside every area is reported by the first county
//! whose box holds it, or, in no box at all, by nobody's shard but the
//! remainder (the assembly), so that outside households add up
//! to the single run's count across shards. A shard reads only the areas
//! whose box meets its county's box, so the counties' boxes are also
//! made from the stored codes and boxes alone ([`Counties::from_boxes`]).

use geo::BoundingRect;

use crate::model::Area;

/// How many leading characters of an area code name its county.
pub const COUNTY_DIGITS: usize = 6;

/// The county of an area code: its first [`COUNTY_DIGITS`] characters (the
/// whole code when shorter).
pub fn county_of(code: &str) -> &str {
    match code.char_indices().nth(COUNTY_DIGITS) {
        Some((i, _)) => &code[..i],
        None => code,
    }
}

/// One county of a set of areas.
#[derive(Debug, Clone, PartialEq)]
pub struct County {
    /// The county's code ([`county_of`]).
    pub code: String,
    /// Indices of its areas, in input order.
    pub areas: Vec<usize>,
    /// `[minx, miny, maxx, maxy]` of its areas.
    pub bbox: [f64; 4],
}

/// The counties of a set of areas, in the order their first area comes.
#[derive(Debug, Clone, PartialEq)]
pub struct Counties(pub Vec<County>);

impl Counties {
    /// Groups `areas` by county.
    pub fn of(areas: &[Area]) -> Counties {
        Counties::from_boxes(areas.iter().map(|a| {
            let bbox = a.geometry.bounding_rect().map(|r| {
                let (min, max) = (r.min(), r.max());
                [min.x, min.y, max.x, max.y]
            });
            (a.code.as_str(), bbox)
        }))
    }

    /// Groups areas given by their codes and boxes (`None` for an empty
    /// area) by county, as [`Counties::of`] groups the areas: what a shard
    /// learns of every area from the stored boxes alone, without reading
    /// their outlines.
    pub fn from_boxes<'a>(
        areas: impl IntoIterator<Item = (&'a str, Option<[f64; 4]>)>,
    ) -> Counties {
        let mut out: Vec<County> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = Default::default();
        for (i, (code, bbox)) in areas.into_iter().enumerate() {
            let code = county_of(code);
            let k = *index.entry(code).or_insert_with(|| {
                out.push(County {
                    code: code.to_string(),
                    areas: Vec::new(),
                    bbox: [
                        f64::INFINITY,
                        f64::INFINITY,
                        f64::NEG_INFINITY,
                        f64::NEG_INFINITY,
                    ],
                });
                out.len() - 1
            });
            let c = &mut out[k];
            c.areas.push(i);
            if let Some(b) = bbox {
                c.bbox[0] = c.bbox[0].min(b[0]);
                c.bbox[1] = c.bbox[1].min(b[1]);
                c.bbox[2] = c.bbox[2].max(b[2]);
                c.bbox[3] = c.bbox[3].max(b[3]);
            }
        }
        Counties(out)
    }

    /// The county called `code`.
    pub fn get(&self, code: &str) -> Option<&County> {
        self.0.iter().find(|c| c.code == code)
    }

    /// The first county (in order) whose box holds `(x, y)`, borders included:
    /// the one that reports a household there that lies in no area.
    pub fn first_holding(&self, x: f64, y: f64) -> Option<&County> {
        self.0.iter().find(|c| box_holds(&c.bbox, x, y))
    }

    /// The counties' boxes, in order.
    pub fn boxes(&self) -> Vec<[f64; 4]> {
        self.0.iter().map(|c| c.bbox).collect()
    }
}

/// True when `bbox` holds `(x, y)`, borders included.
pub fn box_holds(bbox: &[f64; 4], x: f64, y: f64) -> bool {
    x >= bbox[0] && x <= bbox[2] && y >= bbox[1] && y <= bbox[3]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AreaKind;
    use geo_types::{polygon, MultiPolygon};

    fn area(code: &str, x: f64) -> Area {
        Area {
            code: code.into(),
            name: None,
            kind: AreaKind::Urban,
            geometry: MultiPolygon(vec![polygon![
                (x: x, y: 0.0), (x: x + 1.0, y: 0.0), (x: x + 1.0, y: 1.0), (x: x, y: 1.0), (x: x, y: 0.0)
            ]]),
            properties: Default::default(),
        }
    }

    #[test]
    fn counties_group_by_the_first_six_digits_in_first_seen_order() {
        let areas = [
            area("341102001", 0.0),
            area("341103001", 5.0),
            area("341102002", 1.0),
            area("3411", 9.0),
        ];
        let c = Counties::of(&areas);
        let codes: Vec<&str> = c.0.iter().map(|c| c.code.as_str()).collect();
        assert_eq!(codes, ["341102", "341103", "3411"]);
        assert_eq!(c.0[0].areas, [0, 2]);
        assert_eq!(c.0[0].bbox, [0.0, 0.0, 2.0, 1.0]);
        // The border point belongs to the first county that holds it.
        assert_eq!(c.first_holding(1.0, 0.5).unwrap().code, "341102");
        assert!(c.first_holding(3.0, 0.5).is_none());
        assert_eq!(c.first_holding(5.0, 1.0).unwrap().code, "341103");
        // The codes and boxes alone give the same counties.
        let boxes = areas.iter().map(|a| {
            let r = a.geometry.bounding_rect().unwrap();
            (
                a.code.as_str(),
                Some([r.min().x, r.min().y, r.max().x, r.max().y]),
            )
        });
        assert_eq!(Counties::from_boxes(boxes), c);
    }

    #[test]
    fn a_county_code_counts_characters_not_bytes() {
        assert_eq!(county_of("区县一二三四五六"), "区县一二三四");
        assert_eq!(county_of("34"), "34");
    }
}
