//! A generated province: counties of square areas (GB/T 2260-style codes,
//! the county in the first six digits) and household points, for the
//! county-shard tests and the province bench.
//!
//! Counties sit in a grid, each a block of `side × side` cells of
//! `CELL` degrees with a gap of half a cell between blocks; a county's
//! areas fill its first `areas_per_county` cells row by row, so a county
//! whose block is not full has cells inside its box that no area covers.
//! Households are spread over every area, and a few more over the empty
//! cells, the gaps between counties and the country around the province:
//! points inside a county's box but in no area, and points in no county's
//! box at all.

#![allow(dead_code)]

/// Side of an area, degrees (about 1 km).
pub const CELL: f64 = 0.01;
/// South-west corner of the province.
pub const ORIGIN: (f64, f64) = (117.0, 31.0);

/// The shape of a generated province.
#[derive(Debug, Clone, Copy)]
pub struct Province {
    pub counties: usize,
    pub areas_per_county: usize,
    /// Household points per area.
    pub points_per_area: usize,
    /// Households at each point; `None`: 1 to 3 at random.
    pub households_per_point: Option<u64>,
}

/// A small deterministic random number generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Province {
    /// Cells along a county block's side.
    fn side(&self) -> usize {
        (self.areas_per_county as f64).sqrt().ceil() as usize
    }

    /// Counties along the province's side.
    fn counties_across(&self) -> usize {
        (self.counties as f64).sqrt().ceil() as usize
    }

    /// The south-west corner of cell `cell` of county `county`.
    fn corner(&self, county: usize, cell: usize) -> (f64, f64) {
        let block = self.side() as f64 * CELL + CELL / 2.0;
        let across = self.counties_across();
        let (cx, cy) = ((county % across) as f64, (county / across) as f64);
        let (ax, ay) = ((cell % self.side()) as f64, (cell / self.side()) as f64);
        (
            ORIGIN.0 + cx * block + ax * CELL,
            ORIGIN.1 + cy * block + ay * CELL,
        )
    }

    /// `[minx, miny, maxx, maxy]` of the counties' blocks.
    pub fn extent(&self) -> [f64; 4] {
        let block = self.side() as f64 * CELL + CELL / 2.0;
        let rows = self.counties.div_ceil(self.counties_across());
        [
            ORIGIN.0,
            ORIGIN.1,
            ORIGIN.0 + self.counties_across() as f64 * block,
            ORIGIN.1 + rows as f64 * block,
        ]
    }

    /// The code of county `county` (0-based): 34 (Anhui), city 11, then
    /// two digits of county, so codes run 341101, 341102, …
    pub fn county_code(county: usize) -> String {
        format!("3411{:02}", county + 1)
    }

    /// The areas as a GeoJSON FeatureCollection, county by county.
    pub fn areas(&self) -> String {
        self.areas_with(false)
    }

    /// The areas after a census ([`Census`]).
    pub fn areas_after_census(&self) -> String {
        self.areas_with(true)
    }

    fn areas_with(&self, census: bool) -> String {
        let counties = self.counties + usize::from(census);
        let mut feats = Vec::new();
        for county in 0..counties {
            for cell in 0..self.areas_per_county {
                let (x, y) = self.corner(county, cell);
                let (x1, mut y1) = (x + CELL, y + CELL);
                if census && Census::shrinks(county, cell) {
                    y1 = y + CELL / 4.0;
                }
                if census && Census::removes(county, cell) {
                    continue;
                }
                let kind = if county % 2 == 0 { "urban" } else { "rural" };
                feats.push(format!(
                    r#"{{"type":"Feature","properties":{{"code":"{}{:06}","name":"社区{county}-{cell}","kind":"{kind}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x},{y}],[{x1},{y}],[{x1},{y1}],[{x},{y1}],[{x},{y}]]]}}}}"#,
                    Self::county_code(county),
                    cell + 1
                ));
            }
        }
        collection(&feats)
    }

    /// The households as a GeoJSON FeatureCollection: `points_per_area` in
    /// every area, then one point in 200 as many again outside the areas
    /// (in empty cells of the counties' blocks, between the blocks, and
    /// around the province).
    pub fn households(&self) -> String {
        self.households_with(false)
    }

    /// The households after a census ([`Census`]).
    pub fn households_after_census(&self) -> String {
        self.households_with(true)
    }

    fn households_with(&self, census: bool) -> String {
        let mut rng = Rng(0x5EED);
        let mut out = String::with_capacity(
            self.counties * self.areas_per_county * self.points_per_area * 110,
        );
        out.push_str(r#"{"type":"FeatureCollection","features":["#);
        let (mut n, mut written) = (0usize, 0usize);
        let households_per_point = self.households_per_point;
        // A point is drawn whether or not it is kept, so that the points a
        // census keeps are where and what they were.
        let mut point = |out: &mut String, rng: &mut Rng, x: f64, y: f64, keep: bool| {
            let households = households_per_point.unwrap_or_else(|| 1 + rng.next() % 3);
            let persons = households + rng.next() % 4;
            if keep {
                if written > 0 {
                    out.push(',');
                }
                out.push_str(&format!(
                    r#"{{"type":"Feature","properties":{{"id":"h{n}","households":{households},"persons":{persons}}},"geometry":{{"type":"Point","coordinates":[{x:.7},{y:.7}]}}}}"#
                ));
                written += 1;
            }
            n += 1;
        };
        for county in 0..self.counties {
            for cell in 0..self.areas_per_county {
                let (x, y) = self.corner(county, cell);
                for k in 0..self.points_per_area {
                    // Inside, off the border.
                    let (dx, dy) = (0.02 + 0.96 * rng.unit(), 0.02 + 0.96 * rng.unit());
                    let keep = !(census && Census::thins(county, cell) && k % 4 == 0);
                    point(&mut out, &mut rng, x + dx * CELL, y + dy * CELL, keep);
                }
            }
        }
        let total = self.counties * self.areas_per_county * self.points_per_area;
        let block = self.side() as f64 * CELL + CELL / 2.0;
        let extent = self.counties_across() as f64 * block;
        for i in 0..total.div_ceil(200) {
            let (x, y) = match i % 3 {
                // An empty cell of a county's block, when it has one.
                0 => {
                    let county = (rng.next() as usize) % self.counties;
                    let cell = self.areas_per_county
                        + (rng.next() as usize) % (self.side() * self.side()).max(1);
                    let (x, y) = self.corner(county, cell.min(self.side() * self.side() - 1));
                    (
                        x + CELL * (0.1 + 0.8 * rng.unit()),
                        y + CELL * (0.1 + 0.8 * rng.unit()),
                    )
                }
                // In the gap east of a county's block.
                1 => {
                    let county = (rng.next() as usize) % self.counties;
                    let (x, y) = self.corner(county, self.side() - 1);
                    (x + CELL * (1.1 + 0.3 * rng.unit()), y + CELL * rng.unit())
                }
                // Around the province, in no county's box.
                _ => (
                    ORIGIN.0 - 0.05 + (extent + 0.1) * rng.unit(),
                    ORIGIN.1 + extent + 0.02 + 0.03 * rng.unit(),
                ),
            };
            point(&mut out, &mut rng, x, y, true);
        }
        if census {
            // Newcomers: half as many again in growing areas, a full
            // share in the new county's areas.
            let mut rng = Rng(0xCE25);
            for county in 0..=self.counties {
                for cell in 0..self.areas_per_county {
                    let count = if county == self.counties {
                        self.points_per_area
                    } else if Census::grows(county, cell) {
                        self.points_per_area / 2
                    } else {
                        0
                    };
                    let (x, y) = self.corner(county, cell);
                    for _ in 0..count {
                        let (dx, dy) = (0.02 + 0.96 * rng.unit(), 0.02 + 0.96 * rng.unit());
                        point(&mut out, &mut rng, x + dx * CELL, y + dy * CELL, true);
                    }
                }
            }
        }
        out.push_str("]}");
        out
    }
}

/// What a census changes in a generated province: households move in and
/// out, one area shrinks, one is dissolved, and a new county follows the
/// others.
pub struct Census;

impl Census {
    /// County 0's third area shrinks to the south quarter of its cell: its
    /// grids further north then lie beyond its county's box, and their
    /// households in no county's box at all.
    pub fn shrinks(county: usize, cell: usize) -> bool {
        county == 0 && cell == 2
    }

    /// County 1's third area is gone: its grids are retired.
    pub fn removes(county: usize, cell: usize) -> bool {
        county == 1 && cell == 2
    }

    /// Areas that gain half their households again.
    pub fn grows(county: usize, cell: usize) -> bool {
        (county * 3 + cell) % 4 == 1
    }

    /// Areas that lose one household point in four.
    pub fn thins(county: usize, cell: usize) -> bool {
        (county * 3 + cell) % 5 == 2
    }
}

impl Province {
    /// `count` cameras over the province and a little beyond it (in
    /// counties, between them, outside every county's box): domes, bullets
    /// and PTZ cameras of ranges up to 900 m, so that many see across the
    /// half-cell gap between two counties; one in eight offline.
    pub fn cameras(&self, count: usize) -> String {
        let mut rng = Rng(0xCA3E);
        let e = self.extent();
        let feats: Vec<String> = (0..count)
            .map(|i| {
                let x = e[0] - 0.01 + (e[2] - e[0] + 0.02) * rng.unit();
                let y = e[1] - 0.01 + (e[3] - e[1] + 0.02) * rng.unit();
                let online = rng.next() % 8 != 0;
                let props = match rng.next() % 3 {
                    0 => format!(r#""type":"dome","range_m":{}"#, 30 + rng.next() % 300),
                    1 => format!(
                        r#""type":"bullet","range_m":{},"fov_deg":{},"azimuth_deg":{}"#,
                        50 + rng.next() % 850,
                        30 + rng.next() % 120,
                        rng.next() % 360
                    ),
                    _ => format!(r#""type":"ptz","range_m":{}"#, 100 + rng.next() % 800),
                };
                format!(
                    r#"{{"type":"Feature","properties":{{"id":"cam{i}",{props},"online":{online}}},"geometry":{{"type":"Point","coordinates":[{x:.7},{y:.7}]}}}}"#
                )
            })
            .collect();
        collection(&feats)
    }

    /// `count` square buildings, 10 to 60 m a side, over the province.
    pub fn buildings(&self, count: usize) -> String {
        let mut rng = Rng(0xB1D6);
        let e = self.extent();
        let feats: Vec<String> = (0..count)
            .map(|_| {
                let (x, y) = (
                    e[0] + (e[2] - e[0]) * rng.unit(),
                    e[1] + (e[3] - e[1]) * rng.unit(),
                );
                let side = (10.0 + 50.0 * rng.unit()) / 100_000.0;
                let (x1, y1) = (x + side, y + side);
                format!(
                    r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"Polygon","coordinates":[[[{x:.7},{y:.7}],[{x1:.7},{y:.7}],[{x1:.7},{y1:.7}],[{x:.7},{y1:.7}],[{x:.7},{y:.7}]]]}}}}"#
                )
            })
            .collect();
        collection(&feats)
    }

    /// `count` key sites of three kinds over the province and beyond it.
    pub fn sites(&self, count: usize) -> String {
        let mut rng = Rng(0x517E);
        let e = self.extent();
        let kinds = ["village_entrance", "school", "intersection"];
        let feats: Vec<String> = (0..count)
            .map(|i| {
                let x = e[0] - 0.01 + (e[2] - e[0] + 0.02) * rng.unit();
                let y = e[1] - 0.01 + (e[3] - e[1] + 0.02) * rng.unit();
                let kind = kinds[i % kinds.len()];
                format!(
                    r#"{{"type":"Feature","properties":{{"kind":"{kind}","name":"site {i}"}},"geometry":{{"type":"Point","coordinates":[{x:.7},{y:.7}]}}}}"#
                )
            })
            .collect();
        collection(&feats)
    }
}

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

/// The bytes of a FeatureCollection from its features on: the collection's
/// `name` is the layer's (`grids` from the command line, `d.grids` from the
/// service), everything after it must be the same.
pub fn features_part(collection: &[u8]) -> &[u8] {
    let key = b"\"features\":[";
    let at = collection
        .windows(key.len())
        .position(|w| w == key)
        .expect("a FeatureCollection");
    &collection[at..]
}
