//! Features as PostgreSQL binary COPY data: each feature's position, id, box,
//! geometry (PostGIS EWKB, SRID 4326) and GeoJSON text.
//!
//! The rows are encoded on the caller's thread, in parallel (rayon), into
//! chunks of bytes that the COPY then only ships: converting GeoJSON
//! geometries to WKB is the costly part of a bulk write, and the async side
//! then needs nothing borrowed.

use bytes::{BufMut, Bytes, BytesMut};
use rayon::prelude::*;

use crate::store::{StoreError, StoredFeature};

/// The columns each row fills, in the order the COPY statement names them.
pub(super) const COLUMNS: &str = "seq, fid, minx, miny, maxx, maxy, geom, feature";

/// Features per encoded chunk.
const CHUNK: usize = 2048;

/// The SRID of every stored geometry: WGS84 longitude/latitude.
pub(super) const SRID: u32 = 4326;

/// The binary COPY stream for `features`: header, one tuple per feature (its
/// position in the layer as `seq`), trailer.
pub(super) fn encode(features: &[StoredFeature]) -> Result<Vec<Bytes>, StoreError> {
    let mut out = Vec::with_capacity(features.len() / CHUNK + 3);
    // Signature, flags, header extension length (PostgreSQL's COPY BINARY).
    let mut header = BytesMut::with_capacity(19);
    header.put_slice(b"PGCOPY\n\xff\r\n\0");
    header.put_i32(0);
    header.put_i32(0);
    out.push(header.freeze());
    let chunks: Vec<Bytes> = features
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(k, chunk)| encode_chunk(k * CHUNK, chunk))
        .collect::<Result<_, _>>()?;
    out.extend(chunks);
    out.push(Bytes::from_static(&[0xff, 0xff]));
    Ok(out)
}

fn encode_chunk(first: usize, features: &[StoredFeature]) -> Result<Bytes, StoreError> {
    let size: usize = features
        .iter()
        .map(|f| 100 + f.id.len() + 2 * f.json.len())
        .sum();
    let mut buf = BytesMut::with_capacity(size);
    let mut wkb = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let seq = i32::try_from(first + i)
            .map_err(|_| StoreError::Corrupt("a layer of more than 2^31 features".into()))?;
        buf.put_i16(8);
        buf.put_i32(4);
        buf.put_i32(seq);
        text(&mut buf, &f.id);
        for v in f.bbox {
            buf.put_i32(8);
            buf.put_f64(v);
        }
        wkb.clear();
        if ewkb(&f.json, &mut wkb).map_err(|e| {
            StoreError::Corrupt(format!(
                "feature {:?}: its geometry cannot be stored: {e}",
                f.id
            ))
        })? {
            buf.put_i32(wkb.len() as i32);
            buf.put_slice(&wkb);
        } else {
            buf.put_i32(-1);
        }
        text(&mut buf, &f.json);
    }
    Ok(buf.freeze())
}

fn text(buf: &mut BytesMut, s: &str) {
    buf.put_i32(s.len() as i32);
    buf.put_slice(s.as_bytes());
}

/// Writes the EWKB (little-endian, SRID 4326) of a GeoJSON feature's geometry
/// into `out`; false when the feature has no geometry.
pub(super) fn ewkb(feature: &str, out: &mut Vec<u8>) -> Result<bool, String> {
    #[derive(serde::Deserialize)]
    struct Part {
        geometry: Option<geojson::Geometry>,
    }
    let part: Part = serde_json::from_str(feature).map_err(|e| e.to_string())?;
    let Some(g) = part.geometry else {
        return Ok(false);
    };
    let geom = geo_types::Geometry::<f64>::try_from(g.value).map_err(|e| e.to_string())?;
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    let start = out.len();
    wkb::writer::write_geometry(out, &geom, &options).map_err(|e| e.to_string())?;
    // ISO WKB → PostGIS EWKB: the SRID flag on the outer type, the SRID after it.
    let at = start + 1;
    let kind = u32::from_le_bytes([out[at], out[at + 1], out[at + 2], out[at + 3]]);
    out[at..at + 4].copy_from_slice(&(kind | 0x2000_0000).to_le_bytes());
    out.splice(at + 4..at + 4, SRID.to_le_bytes());
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_and_polygons_become_ewkb_with_the_srid() {
        let mut out = Vec::new();
        let point = r#"{"type":"Feature","properties":{"a":1},"geometry":{"type":"Point","coordinates":[118.5,32.25]}}"#;
        assert!(ewkb(point, &mut out).unwrap());
        let mut want = vec![1u8];
        want.extend_from_slice(&0x2000_0001u32.to_le_bytes());
        want.extend_from_slice(&4326u32.to_le_bytes());
        want.extend_from_slice(&118.5f64.to_le_bytes());
        want.extend_from_slice(&32.25f64.to_le_bytes());
        assert_eq!(out, want);
        out.clear();
        assert!(!ewkb(
            r#"{"type":"Feature","geometry":null,"properties":{}}"#,
            &mut out
        )
        .unwrap());
        let poly = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,0]]]}}"#;
        assert!(ewkb(poly, &mut out).unwrap());
        assert_eq!(&out[1..5], &0x2000_0003u32.to_le_bytes());
        assert_eq!(out.len(), 1 + 4 + 4 + 4 + 4 + 4 * 16);
        assert!(ewkb(r#"{"geometry":{"type":"Point"}}"#, &mut out).is_err());
    }
}
