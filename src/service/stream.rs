//! Response bodies written from an in-memory collection while they are sent.
//!
//! A whole-layer download or an items page is the stored text of its features
//! between a head and a tail. [`FeatureBody`] holds the collection (shared,
//! not copied) and copies the features into chunks of about 64 KiB as the
//! connection takes them, so N concurrent downloads of one large layer cost N
//! chunks, not N copies of the layer. Its length is known up front, so the
//! response carries `Content-Length`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;

use super::features::FeatureSet;
use super::geomtype;

/// Bytes per chunk (a chunk may exceed it by one feature).
const CHUNK: usize = 64 << 10;

/// Which features of the collection, in order.
pub enum Picks {
    /// Positions `start..end`.
    Range(std::ops::Range<usize>),
    /// These positions.
    List(Vec<u32>),
}

impl Picks {
    pub(crate) fn len(&self) -> usize {
        match self {
            Picks::Range(r) => r.len(),
            Picks::List(v) => v.len(),
        }
    }
    pub(crate) fn get(&self, k: usize) -> usize {
        match self {
            Picks::Range(r) => r.start + k,
            Picks::List(v) => v[k] as usize,
        }
    }
}

/// `head`, the picked features' text separated by `sep`, then `tail`.
pub struct FeatureBody {
    set: Arc<FeatureSet>,
    picks: Picks,
    /// Serve the collection's single geometries as multi ones where it mixes
    /// them (OGC responses), or the stored text as is (layer downloads).
    one_type: bool,
    next: usize,
    sep: &'static str,
    head: Option<Bytes>,
    tail: Option<Bytes>,
    size: u64,
}

impl FeatureBody {
    pub fn new(
        set: Arc<FeatureSet>,
        picks: Picks,
        one_type: bool,
        head: String,
        sep: &'static str,
        tail: String,
    ) -> FeatureBody {
        let n = picks.len();
        let features: usize = (0..n)
            .map(|k| {
                let i = picks.get(k);
                let splice = one_type.then(|| geomtype::find(&set.splices, i)).flatten();
                geomtype::served_len(&set.features[i].json, splice)
            })
            .sum();
        let size = head.len() + tail.len() + features + sep.len() * n.saturating_sub(1);
        FeatureBody {
            set,
            picks,
            one_type,
            next: 0,
            sep,
            head: Some(Bytes::from(head)),
            tail: Some(Bytes::from(tail)),
            size: size as u64,
        }
    }
}

impl MessageBody for FeatureBody {
    type Error = Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.size)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(h) = this.head.take() {
            return Poll::Ready(Some(Ok(h)));
        }
        let n = this.picks.len();
        if this.next < n {
            let mut buf = Vec::with_capacity(CHUNK + 1024);
            while this.next < n && buf.len() < CHUNK {
                if this.next > 0 {
                    buf.extend_from_slice(this.sep.as_bytes());
                }
                let i = this.picks.get(this.next);
                let splice = this
                    .one_type
                    .then(|| geomtype::find(&this.set.splices, i))
                    .flatten();
                geomtype::write(&mut buf, &this.set.features[i].json, splice);
                this.next += 1;
            }
            return Poll::Ready(Some(Ok(Bytes::from(buf))));
        }
        Poll::Ready(this.tail.take().map(Ok))
    }
}

/// `head`, the picked features as served with their coordinates converted
/// by `rp` (in parallel), separated by `sep`, then `tail`: built whole, so an
/// error (a feature outside the target CRS's area) is known before anything
/// is sent. The error names the feature.
pub fn converted(
    set: &FeatureSet,
    picks: &Picks,
    one_type: bool,
    head: &str,
    sep: &str,
    tail: &str,
    rp: &super::ogc_crs::Reprojector,
) -> Result<Bytes, String> {
    use rayon::prelude::*;
    let parts: Vec<Vec<u8>> = (0..picks.len())
        .into_par_iter()
        .with_min_len(256)
        .map(|k| {
            let i = picks.get(k);
            let f = &set.features[i];
            let splice = one_type.then(|| geomtype::find(&set.splices, i)).flatten();
            let mut served = Vec::with_capacity(f.json.len() + 8);
            geomtype::write(&mut served, &f.json, splice);
            let text = std::str::from_utf8(&served).map_err(|e| e.to_string())?;
            let mut out = Vec::with_capacity(served.len() + 16);
            rp.feature(text, &mut out)
                .map_err(|e| format!("feature {:?}: {e}", &*f.id))?;
            Ok(out)
        })
        .collect::<Result<_, String>>()?;
    let size = head.len()
        + tail.len()
        + parts.iter().map(Vec::len).sum::<usize>()
        + sep.len() * parts.len().saturating_sub(1);
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(head.as_bytes());
    for (k, p) in parts.iter().enumerate() {
        if k > 0 {
            body.extend_from_slice(sep.as_bytes());
        }
        body.extend_from_slice(p);
    }
    body.extend_from_slice(tail.as_bytes());
    Ok(Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{LayerMeta, LayerSource, StoredFeature};

    #[actix_web::test]
    async fn chunks_add_up_to_the_declared_size() {
        let features: Vec<StoredFeature> = (0..5000)
            .map(|i| StoredFeature {
                id: i.to_string().into(),
                bbox: [0.0; 4],
                json: format!("{{\"type\":\"Feature\",\"id\":{i},\"geometry\":null}}").into(),
            })
            .collect();
        let meta = LayerMeta {
            dataset: "d".into(),
            layer: "l".into(),
            kind: "l".into(),
            source: LayerSource::Upload,
            features: 5000,
            extent: None,
            report: serde_json::Value::Null,
            job: None,
            updated: String::new(),
            version: 1,
        };
        let set = Arc::new(FeatureSet::new(meta, features));
        for picks in [
            Picks::Range(0..5000),
            Picks::List(vec![4, 9, 4999]),
            Picks::Range(3..3),
        ] {
            let expected: Vec<&str> = match &picks {
                Picks::Range(r) => r.clone().map(|i| &*set.features[i].json).collect(),
                Picks::List(v) => v.iter().map(|&i| &*set.features[i as usize].json).collect(),
            };
            let body = FeatureBody::new(set.clone(), picks, true, "[".into(), ",\n", "]".into());
            let BodySize::Sized(size) = body.size() else {
                panic!("unsized")
            };
            let bytes = actix_web::body::to_bytes(body).await.unwrap();
            assert_eq!(bytes.len() as u64, size);
            assert_eq!(
                std::str::from_utf8(&bytes).unwrap(),
                format!("[{}]", expected.join(",\n"))
            );
        }
    }
}
