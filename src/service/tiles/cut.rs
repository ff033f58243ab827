//! Cutting one Mapbox Vector Tile out of a collection: candidates from the
//! R-tree, clipping and simplification in tile units, thinning below
//! [`FULL_ZOOM`], writing with [`super::encode`].
//!
//! The rules, which the tests check against the raw layer:
//!
//! - **Points** go to exactly one tile per zoom: the tile whose half-open
//!   square `[x0, x1) × [y0, y1)` holds them (no buffer), so a client never
//!   draws a household twice and a count over tiles is the layer's count.
//! - **Lines and polygons** are clipped to the tile plus a buffer of
//!   [`BUFFER`] units (of [`EXTENT`]), so strokes and fills meet across tile
//!   edges; coordinates are rounded to whole tile units, repeated vertices
//!   dropped, and below [`FULL_ZOOM`] simplified (Ramer–Douglas–Peucker,
//!   [`simplify_units`]: one unit, and [`OVERVIEW_SIMPLIFY`] units up to
//!   [`OVERVIEW_ZOOM`], where a city fits in a few tiles and a 400 m grid is
//!   a few pixels across). A ring that collapses (fewer than three vertices
//!   or no area) is dropped: it is smaller than the tolerance at this zoom.
//! - **Thinning**, only below [`FULL_ZOOM`], as tippecanoe's
//!   `--drop-densest-as-needed` with its feature and byte caps per tile: the
//!   tile is divided into bins of [`FIRST_BIN`] units (one screen pixel of a
//!   256-pixel tile); a *small* feature (a point, or a line or polygon whose
//!   box fits in a bin) is kept only when it is the first, in layer order, of
//!   its bin (by its box's centre). Features larger than a bin are always
//!   kept. While the tile would keep more than [`MAX_TILE_FEATURES`]
//!   features, or its encoding is over [`MAX_TILE_BYTES`], the bins double.
//!   So only dense ground is thinned, and it stays dense on the map; every
//!   kept feature is a real one with its own position and properties (no
//!   clustering or averaging), the response's `Wangge-Thinned` header counts
//!   the ones left out, and from [`FULL_ZOOM`] on nothing is thinned, which
//!   is why the tileset's `maxzoom` is [`FULL_ZOOM`]: a client overzooms the
//!   full tile. (martin's GeoJSON source, by contrast, keeps every feature at
//!   every zoom; tippecanoe thins by a drop rate per zoom as well.)

use std::borrow::Cow;

use super::encode::{GeomType, LayerWriter};
use super::index::{to_lon_lat, Shape, Tags, TileIndex, World};
use crate::service::features::FeatureSet;

/// Tile units across a tile.
pub const EXTENT: u32 = 4096;
/// Tile units around a tile that lines and polygons keep.
pub const BUFFER: f64 = 64.0;
/// The zoom from which tiles hold every feature (the tileset's `maxzoom`).
pub const FULL_ZOOM: u8 = 16;
/// The deepest zoom served (clients rarely ask past [`FULL_ZOOM`]).
pub const MAX_ZOOM: u8 = 24;
/// The size thinning aims under, bytes (before compression).
pub const MAX_TILE_BYTES: usize = 500_000;
/// The first thinning bin, tile units (256 × 256 bins a tile).
pub const FIRST_BIN: u32 = 16;
/// The most features a thinned tile keeps (128 × 128: one per bin of 32
/// units when the tile is full), as tippecanoe caps features per tile.
pub const MAX_TILE_FEATURES: usize = 16_384;

/// The deepest zoom simplified by [`OVERVIEW_SIMPLIFY`] units.
pub const OVERVIEW_ZOOM: u8 = 11;
/// The simplification tolerance up to [`OVERVIEW_ZOOM`], tile units: a
/// quarter of a pixel where the tile is drawn at its own zoom (MapLibre
/// draws a tile 512 pixels across, 8 units a pixel) and half a pixel at
/// most before the next zoom's tiles take over. A city's overview (its
/// 10,000 grids in 4 tiles at zoom 10) then holds about half the vertices
/// it would with one unit, which the browser has to tessellate and draw.
pub const OVERVIEW_SIMPLIFY: f64 = 2.0;

/// The Ramer–Douglas–Peucker tolerance of lines and polygons at zoom `z`,
/// tile units: none from [`FULL_ZOOM`] on (tiles as stored, to the unit),
/// one unit below it, [`OVERVIEW_SIMPLIFY`] up to [`OVERVIEW_ZOOM`].
pub fn simplify_units(z: u8) -> f64 {
    if z >= FULL_ZOOM {
        0.0
    } else if z > OVERVIEW_ZOOM {
        1.0
    } else {
        OVERVIEW_SIMPLIFY
    }
}

/// A tile of the WebMercatorQuad tile matrix set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    pub z: u8,
    pub x: u32,
    pub y: u32,
}

impl TileId {
    /// Tiles across the world at this zoom.
    pub fn n(self) -> f64 {
        f64::from(1u32 << self.z)
    }

    /// A world position in this tile's units.
    fn units(self, p: World) -> [f64; 2] {
        let n = self.n();
        let e = f64::from(EXTENT);
        [
            (p[0] * n - f64::from(self.x)) * e,
            (p[1] * n - f64::from(self.y)) * e,
        ]
    }

    /// The lon/lat box of the tile grown by `buffer` units:
    /// `[west, south, east, north]`.
    pub fn lon_lat_box(self, buffer: f64) -> [f64; 4] {
        let n = self.n();
        let b = buffer / f64::from(EXTENT);
        let (x0, x1) = (
            (f64::from(self.x) - b) / n,
            (f64::from(self.x) + 1.0 + b) / n,
        );
        let (y0, y1) = (
            (f64::from(self.y) - b) / n,
            (f64::from(self.y) + 1.0 + b) / n,
        );
        let nw = to_lon_lat([x0.max(0.0), y0.max(0.0)]);
        let se = to_lon_lat([x1.min(1.0), y1.min(1.0)]);
        [nw[0], se[1], se[0], nw[1]]
    }
}

/// A feature's geometry in tile units, ready to encode.
enum Cut {
    Point((i32, i32)),
    Points(Vec<(i32, i32)>),
    Lines(Vec<Vec<(i32, i32)>>),
    /// Rings of all polygons in order, each with its role (exterior or hole).
    Polygons(Vec<Vec<(i32, i32)>>),
}

struct Prepared {
    position: u32,
    cut: Cut,
    /// The box's centre, for the thinning bin.
    centre: [f64; 2],
    /// The box's larger side, tile units.
    size: f64,
}

/// What a tile request produced.
pub struct Encoded {
    /// The tile, `None` when it holds no feature.
    pub bytes: Option<Vec<u8>>,
    pub features: usize,
    /// Features in the tile's area left out by thinning.
    pub thinned: usize,
}

/// Cuts tile `t` of `set` (whose projected shapes are `index`) as one MVT
/// layer named `layer`.
pub fn cut(set: &FeatureSet, index: &TileIndex, layer: &str, t: TileId) -> Encoded {
    cut_among(index, layer, t, set.matching(&[t.lon_lat_box(BUFFER)]))
}

/// [`cut`] with the candidates given (positions, ascending): a superset of
/// the features in the tile, e.g. those near a GCJ-02 tile's box
/// ([`super::gcj02_candidates`]).
pub fn cut_among(index: &TileIndex, layer: &str, t: TileId, candidates: Vec<u32>) -> Encoded {
    let thin = t.z < FULL_ZOOM;
    let simplify = simplify_units(t.z);
    let mut prepared = Vec::new();
    let mut taken = Bins::new(FIRST_BIN);
    let mut thinned = 0;
    for i in candidates {
        let shape = &index.shapes[i as usize];
        let p = if let Shape::Point(w) = shape {
            // A point needs no geometry work: its bin is its position.
            let u = t.units(*w);
            if !inside(u) {
                continue;
            }
            Prepared {
                position: i,
                cut: Cut::Point(round(u)),
                centre: u,
                size: 0.0,
            }
        } else {
            let Some(p) = prepare(shape, t, simplify) else {
                continue;
            };
            Prepared { position: i, ..p }
        };
        if thin && p.size < f64::from(FIRST_BIN) && !taken.take(p.centre) {
            thinned += 1;
            continue;
        }
        prepared.push(p);
    }
    if prepared.is_empty() {
        return Encoded {
            bytes: None,
            features: 0,
            thinned,
        };
    }
    // Larger bins while the tile holds too many small features (counted
    // without encoding), then while its bytes are over the limit.
    let mut bin = FIRST_BIN;
    if thin {
        while bin < EXTENT && thin_to(&prepared, bin).len() > MAX_TILE_FEATURES {
            bin *= 2;
        }
    }
    loop {
        let keep = if bin == FIRST_BIN {
            prepared.iter().collect()
        } else {
            thin_to(&prepared, bin)
        };
        let tile = encode(&index.tags, layer, &keep);
        if !thin || tile.len() <= MAX_TILE_BYTES || bin >= EXTENT {
            return Encoded {
                features: keep.len(),
                thinned: thinned + prepared.len() - keep.len(),
                bytes: Some(tile),
            };
        }
        bin *= 2;
    }
}

/// The features kept with bins of `bin` units: those larger than a bin,
/// and the first small one of each bin.
fn thin_to(prepared: &[Prepared], bin: u32) -> Vec<&Prepared> {
    let mut bins = Bins::new(bin);
    prepared
        .iter()
        .filter(|p| p.size >= f64::from(bin) || bins.take(p.centre))
        .collect()
}

fn inside(u: [f64; 2]) -> bool {
    let e = f64::from(EXTENT);
    (0.0..e).contains(&u[0]) && (0.0..e).contains(&u[1])
}

/// Which thinning bins of a tile are taken.
struct Bins {
    size: u32,
    across: usize,
    taken: Vec<u64>,
}

impl Bins {
    fn new(size: u32) -> Bins {
        let across = (EXTENT / size) as usize;
        Bins {
            size,
            across,
            taken: vec![0; (across * across).div_ceil(64)],
        }
    }

    /// Takes the bin of `p` (tile units, clamped into the tile); false when
    /// it was taken already.
    fn take(&mut self, p: [f64; 2]) -> bool {
        let cell = |v: f64| ((v.max(0.0) as u32) / self.size).min(self.across as u32 - 1) as usize;
        let k = cell(p[1]) * self.across + cell(p[0]);
        let (word, bit) = (k / 64, 1u64 << (k % 64));
        let free = self.taken[word] & bit == 0;
        self.taken[word] |= bit;
        free
    }
}

fn round(p: [f64; 2]) -> (i32, i32) {
    (p[0].round() as i32, p[1].round() as i32)
}

/// The tile-unit geometry of a shape, or `None` when nothing of it is in
/// the tile.
fn prepare(shape: &Shape, t: TileId, simplify: f64) -> Option<Prepared> {
    let e = f64::from(EXTENT);
    let (lo, hi) = (-BUFFER, e + BUFFER);
    let (cut, bbox) = match shape {
        Shape::Empty => return None,
        Shape::Point(w) => {
            let u = t.units(*w);
            if !inside(u) {
                return None;
            }
            (Cut::Point(round(u)), [u[0], u[1], u[0], u[1]])
        }
        Shape::Points(ps) => {
            let pts: Vec<[f64; 2]> = ps
                .iter()
                .map(|&p| t.units(p))
                .filter(|&u| inside(u))
                .collect();
            let bbox = bbox_of(pts.iter())?;
            (Cut::Points(pts.into_iter().map(round).collect()), bbox)
        }
        Shape::Lines(ls) => {
            let mut parts = Vec::new();
            for l in ls {
                let units: Vec<[f64; 2]> = l.iter().map(|&p| t.units(p)).collect();
                for piece in clip_line(&units, lo, hi) {
                    let q = quantize(&simplify_open(&piece, simplify));
                    if q.len() >= 2 {
                        parts.push(q);
                    }
                }
            }
            let bbox = bbox_of(
                parts
                    .iter()
                    .flatten()
                    .map(|&(x, y)| [f64::from(x), f64::from(y)])
                    .collect::<Vec<_>>()
                    .iter(),
            )?;
            (Cut::Lines(parts), bbox)
        }
        Shape::Polygons(polys) => {
            let mut rings = Vec::new();
            for poly in polys {
                for (r, ring) in poly.iter().enumerate() {
                    let units: Vec<[f64; 2]> = ring.iter().map(|&p| t.units(p)).collect();
                    let clipped = clip_ring(units, lo, hi);
                    let mut q = quantize(&simplify_ring(&clipped, simplify));
                    let a = area2(&q);
                    if q.len() < 3 || a == 0 {
                        if r == 0 {
                            break; // no exterior: the polygon's holes go too
                        }
                        continue;
                    }
                    // MVT: exteriors have positive area in tile units (y
                    // down), holes negative.
                    if (r == 0) != (a > 0) {
                        q.reverse();
                    }
                    rings.push(q);
                }
            }
            let bbox = bbox_of(
                rings
                    .iter()
                    .flatten()
                    .map(|&(x, y)| [f64::from(x), f64::from(y)])
                    .collect::<Vec<_>>()
                    .iter(),
            )?;
            (Cut::Polygons(rings), bbox)
        }
    };
    Some(Prepared {
        position: 0,
        cut,
        centre: [(bbox[0] + bbox[2]) / 2.0, (bbox[1] + bbox[3]) / 2.0],
        size: (bbox[2] - bbox[0]).max(bbox[3] - bbox[1]),
    })
}

fn bbox_of<'a>(pts: impl Iterator<Item = &'a [f64; 2]>) -> Option<[f64; 4]> {
    let mut b: Option<[f64; 4]> = None;
    for p in pts {
        let c = b.get_or_insert([p[0], p[1], p[0], p[1]]);
        c[0] = c[0].min(p[0]);
        c[1] = c[1].min(p[1]);
        c[2] = c[2].max(p[0]);
        c[3] = c[3].max(p[1]);
    }
    b
}

/// Twice the signed area in tile units (positive: clockwise on screen).
fn area2(r: &[(i32, i32)]) -> i64 {
    let mut s = 0i64;
    for (i, &(x0, y0)) in r.iter().enumerate() {
        let (x1, y1) = r[(i + 1) % r.len()];
        s += i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0);
    }
    s
}

/// Rounds to whole units and drops repeated vertices (and, for a ring, a
/// last vertex equal to the first).
fn quantize(pts: &[[f64; 2]]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(pts.len());
    for &p in pts {
        let q = round(p);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    out
}

/// Ramer–Douglas–Peucker of an open line (geo's), when `eps` > 0.
fn simplify_open(pts: &[[f64; 2]], eps: f64) -> Cow<'_, [[f64; 2]]> {
    use geo::Simplify;
    if eps <= 0.0 || pts.len() < 3 {
        return Cow::Borrowed(pts);
    }
    let l = geo_types::LineString::from(pts.iter().map(|p| (p[0], p[1])).collect::<Vec<_>>());
    Cow::Owned(l.simplify(eps).0.into_iter().map(|c| [c.x, c.y]).collect())
}

/// Ramer–Douglas–Peucker of an open ring (closed for the simplification,
/// so its first vertex stays).
fn simplify_ring(pts: &[[f64; 2]], eps: f64) -> Cow<'_, [[f64; 2]]> {
    if eps <= 0.0 || pts.len() < 4 {
        return Cow::Borrowed(pts);
    }
    let mut closed = pts.to_vec();
    closed.push(pts[0]);
    let mut s = simplify_open(&closed, eps).into_owned();
    s.pop();
    Cow::Owned(s)
}

/// Sutherland–Hodgman clipping of a ring by the square `[lo, hi]²`; the
/// ring is returned as it is when it lies inside.
fn clip_ring(ring: Vec<[f64; 2]>, lo: f64, hi: f64) -> Vec<[f64; 2]> {
    if ring
        .iter()
        .all(|p| p[0] >= lo && p[0] <= hi && p[1] >= lo && p[1] <= hi)
    {
        return ring;
    }
    let mut r = ring;
    for (axis, bound, keep_above) in [(0, lo, true), (0, hi, false), (1, lo, true), (1, hi, false)]
    {
        if r.is_empty() {
            break;
        }
        let inside = |p: &[f64; 2]| {
            if keep_above {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(r.len() + 4);
        for i in 0..r.len() {
            let (a, b) = (r[(i + r.len() - 1) % r.len()], r[i]);
            let (ia, ib) = (inside(&a), inside(&b));
            if ia != ib {
                let f = (bound - a[axis]) / (b[axis] - a[axis]);
                let mut c = [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1])];
                c[axis] = bound;
                out.push(c);
            }
            if ib {
                out.push(b);
            }
        }
        r = out;
    }
    r
}

/// The pieces of a line inside the square `[lo, hi]²` (Liang–Barsky per
/// segment; consecutive inside segments join into one piece).
fn clip_line(line: &[[f64; 2]], lo: f64, hi: f64) -> Vec<Vec<[f64; 2]>> {
    let mut pieces: Vec<Vec<[f64; 2]>> = Vec::new();
    let mut current: Vec<[f64; 2]> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let d = [b[0] - a[0], b[1] - a[1]];
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut visible = true;
        for (p, q) in [
            (-d[0], a[0] - lo),
            (d[0], hi - a[0]),
            (-d[1], a[1] - lo),
            (d[1], hi - a[1]),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
            }
        }
        if !visible || t0 > t1 {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            continue;
        }
        let pa = [a[0] + t0 * d[0], a[1] + t0 * d[1]];
        let pb = [a[0] + t1 * d[0], a[1] + t1 * d[1]];
        if current.last() != Some(&pa) {
            if !current.is_empty() {
                pieces.push(std::mem::take(&mut current));
            }
            current.push(pa);
        }
        current.push(pb);
        if t1 < 1.0 {
            pieces.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    pieces
}

/// Encodes the kept features as one layer.
fn encode(tags: &Tags, layer: &str, keep: &[&Prepared]) -> Vec<u8> {
    let mut w = LayerWriter::new(tags);
    for p in keep {
        let g = w.geometry();
        let kind = match &p.cut {
            Cut::Point(pt) => {
                g.points(std::slice::from_ref(pt));
                GeomType::Point
            }
            Cut::Points(pts) => {
                g.points(pts);
                GeomType::Point
            }
            Cut::Lines(parts) => {
                for part in parts {
                    g.line(part);
                }
                GeomType::Linestring
            }
            Cut::Polygons(rings) => {
                for ring in rings {
                    g.ring(ring);
                }
                GeomType::Polygon
            }
        };
        w.feature(u64::from(p.position) + 1, p.position as usize, kind);
    }
    w.finish(layer, EXTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overview_zooms_drop_sub_pixel_wiggles() {
        // A 400 m grid at zoom 10 (42 units) whose edges wiggle by 1.1
        // units, 12 vertices a side, as the benches' city.
        let mut ring = Vec::new();
        for side in 0..4 {
            for k in 0..12 {
                let along = 42.0 * f64::from(k) / 12.0;
                let off = if k % 2 == 1 { 1.1 } else { 0.0 };
                ring.push(match side {
                    0 => [along, off],
                    1 => [42.0 - off, along],
                    2 => [42.0 - along, 42.0 - off],
                    _ => [off, 42.0 - along],
                });
            }
        }
        let at = |z: u8| quantize(&simplify_ring(&ring, simplify_units(z))).len();
        assert_eq!(at(10), 4, "the overview keeps the corners");
        assert_eq!(at(OVERVIEW_ZOOM), 4);
        assert!(at(OVERVIEW_ZOOM + 1) > 4, "one unit keeps the wiggles");
        assert_eq!(at(FULL_ZOOM), ring.len(), "full zoom is as stored");
    }

    #[test]
    fn rings_are_clipped_to_the_buffered_square() {
        let ring = vec![
            [-100.0, -100.0],
            [200.0, -100.0],
            [200.0, 200.0],
            [-100.0, 200.0],
        ];
        let c = clip_ring(ring, 0.0, 100.0);
        let q = quantize(&c);
        assert_eq!(area2(&q).abs(), 2 * 100 * 100, "{q:?}");
        let inside = vec![[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]];
        assert_eq!(clip_ring(inside.clone(), 0.0, 100.0), inside);
    }

    #[test]
    fn lines_leaving_and_reentering_become_pieces() {
        let l = [
            [-10.0, 5.0],
            [50.0, 5.0],
            [150.0, 5.0],
            [150.0, 50.0],
            [50.0, 50.0],
        ];
        let p = clip_line(&l, 0.0, 100.0);
        assert_eq!(
            p,
            vec![
                vec![[0.0, 5.0], [50.0, 5.0], [100.0, 5.0]],
                vec![[100.0, 50.0], [50.0, 50.0]]
            ]
        );
    }

    #[test]
    fn a_bin_is_taken_once() {
        let mut b = Bins::new(16);
        assert!(b.take([1.0, 1.0]));
        assert!(!b.take([15.9, 0.0]));
        assert!(b.take([16.0, 0.0]));
        assert!(b.take([4095.0, 4095.0]) && !b.take([5000.0, 5000.0]));
    }
}
