//! Conditional GETs: strong ETags, `Last-Modified`, and `304 Not Modified`
//! answers to `If-None-Match` / `If-Modified-Since`.
//!
//! Two kinds of tag, both cheap:
//! - a layer's representations (items pages, single features, the whole
//!   layer) are tagged from the layer's stored version and commit time (plus
//!   the base of the links they carry), so a large body is never hashed per
//!   request, and a replaced layer always gets new tags;
//! - small JSON documents (collections, datasets, jobs) are tagged by hashing
//!   their text, which is exact and costs less than serialising them did.
//!
//! Tags name the content before any `Content-Encoding`: the middleware in
//! [`super`] appends `-gzip` (or the coding used) to the tag of a compressed
//! response, so each representation has its own strong tag, and the
//! comparison here strips that suffix again, as a client revalidating a
//! compressed copy sends it back.

use std::hash::{Hash, Hasher};
use std::time::SystemTime;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use serde_json::Value;

use crate::store::{parse_rfc3339, LayerMeta};

/// Content codings the compression middleware may add to a tag.
pub const CODING_SUFFIXES: [&str; 4] = ["gzip", "br", "zstd", "deflate"];

/// What a conditional request is compared against.
#[derive(Debug, Clone)]
pub struct Validators {
    /// The entity tag, without quotes.
    pub etag: String,
    pub last_modified: Option<SystemTime>,
}

fn hash_hex(parts: impl FnOnce(&mut std::collections::hash_map::DefaultHasher)) -> String {
    // SipHash with fixed keys: the same content gives the same tag in every
    // process of one build, so tags survive restarts.
    let mut h = std::collections::hash_map::DefaultHasher::new();
    parts(&mut h);
    format!("{:016x}", h.finish())
}

impl Validators {
    /// For a representation of a stored layer whose links start with `base`.
    pub fn for_layer(meta: &LayerMeta, base: &str) -> Validators {
        let etag = format!(
            "v{}-{}",
            meta.version,
            hash_hex(|h| {
                meta.dataset.hash(h);
                meta.layer.hash(h);
                meta.updated.hash(h);
                base.hash(h);
            })
        );
        Validators {
            etag,
            last_modified: parse_rfc3339(&meta.updated),
        }
    }

    /// For a small document, by its text.
    pub fn for_text(text: &str, last_modified: Option<SystemTime>) -> Validators {
        Validators {
            etag: format!("h{}", hash_hex(|h| text.hash(h))),
            last_modified,
        }
    }

    /// The `ETag` and `Last-Modified` headers.
    pub fn apply(&self, builder: &mut HttpResponseBuilder) {
        if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", self.etag)) {
            builder.insert_header((header::ETAG, v));
        }
        if let Some(t) = self.last_modified {
            builder.insert_header((header::LAST_MODIFIED, header::HttpDate::from(t)));
        }
    }

    /// `304 Not Modified` when the request's preconditions say the client's
    /// copy is current: `If-None-Match` when present (RFC 9110 §13.2.2),
    /// else `If-Modified-Since`. The 304 carries the tag the client holds.
    pub fn not_modified(&self, req: &HttpRequest) -> Option<HttpResponse> {
        let held = match req.headers().get(header::IF_NONE_MATCH) {
            Some(inm) => Some(self.matching_tag(inm.to_str().ok()?)?),
            None => {
                let since = req
                    .headers()
                    .get(header::IF_MODIFIED_SINCE)?
                    .to_str()
                    .ok()?;
                let since: SystemTime = since.parse::<header::HttpDate>().ok()?.into();
                let modified = self.last_modified?;
                // HTTP dates have whole seconds: the resource is unmodified
                // when its time, truncated, is not after the client's.
                let secs = |t: SystemTime| {
                    t.duration_since(SystemTime::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                };
                if secs(modified) > secs(since) {
                    return None;
                }
                None
            }
        };
        let mut b = HttpResponse::NotModified();
        let v = Validators {
            etag: held.unwrap_or_else(|| self.etag.clone()),
            last_modified: self.last_modified,
        };
        v.apply(&mut b);
        b.insert_header((header::CACHE_CONTROL, "no-cache"));
        Some(b.finish())
    }

    /// The tag of `If-None-Match` that names this representation (in any
    /// content coding), as sent; `*` matches the current tag.
    fn matching_tag(&self, inm: &str) -> Option<String> {
        for t in inm.split(',') {
            let t = t.trim();
            if t == "*" {
                return Some(self.etag.clone());
            }
            let t = t.strip_prefix("W/").unwrap_or(t);
            let Some(inner) = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
                continue;
            };
            let base = CODING_SUFFIXES
                .iter()
                .find_map(|c| inner.strip_suffix(c).and_then(|s| s.strip_suffix('-')))
                .unwrap_or(inner);
            if base == self.etag {
                return Some(inner.to_string());
            }
        }
        None
    }
}

/// A small JSON document with its tag, or 304 when the client has it.
pub fn json(req: &HttpRequest, value: &Value, last_modified: Option<SystemTime>) -> HttpResponse {
    let text = value.to_string();
    let v = Validators::for_text(&text, last_modified);
    if let Some(r) = v.not_modified(req) {
        return r;
    }
    let mut b = HttpResponse::Ok();
    v.apply(&mut b);
    b.insert_header((header::CACHE_CONTROL, "no-cache"))
        .content_type("application/json")
        .body(text)
}

/// The tag of a compressed response: the coding appended inside the quotes.
pub fn coded_tag(etag: &HeaderValue, coding: &HeaderValue) -> Option<HeaderValue> {
    let tag = etag.to_str().ok()?;
    let coding = coding.to_str().ok()?;
    let inner = tag.strip_prefix('"')?.strip_suffix('"')?;
    if coding == "identity" || !CODING_SUFFIXES.contains(&coding) {
        return None;
    }
    HeaderValue::from_str(&format!("\"{inner}-{coding}\"")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn tags_match_in_any_coding_and_dates_by_the_second() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_700_000_000_500);
        let v = Validators {
            etag: "v3-ab".into(),
            last_modified: Some(t),
        };
        let req = |k, val| {
            TestRequest::default()
                .insert_header((k, val))
                .to_http_request()
        };
        let r = v
            .not_modified(&req(header::IF_NONE_MATCH, "\"x\", \"v3-ab-gzip\""))
            .unwrap();
        assert_eq!(r.status(), 304);
        assert_eq!(r.headers().get(header::ETAG).unwrap(), "\"v3-ab-gzip\"");
        assert!(v
            .not_modified(&req(header::IF_NONE_MATCH, "\"v3-a\""))
            .is_none());
        assert!(v.not_modified(&req(header::IF_NONE_MATCH, "*")).is_some());
        let date = header::HttpDate::from(t).to_string();
        assert!(v
            .not_modified(&req(header::IF_MODIFIED_SINCE, &date))
            .is_some());
        let before = header::HttpDate::from(t - std::time::Duration::from_secs(1)).to_string();
        assert!(v
            .not_modified(&req(header::IF_MODIFIED_SINCE, &before))
            .is_none());
        // If-None-Match wins over If-Modified-Since.
        let both = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"other\""))
            .insert_header((header::IF_MODIFIED_SINCE, date.as_str()))
            .to_http_request();
        assert!(v.not_modified(&both).is_none());
        assert_eq!(
            coded_tag(
                &HeaderValue::from_static("\"v3-ab\""),
                &HeaderValue::from_static("br")
            )
            .unwrap(),
            "\"v3-ab-br\""
        );
    }
}
