//! `GET /collections/{collectionId}/queryables`: the properties of a
//! collection's features as a JSON Schema (OGC API – Features Part 3,
//! `application/schema+json`), read from the features themselves, so it names
//! exactly what the items carry: each property with its JSON type, the list
//! properties (`issues` of grids, `cameras` of the coverage layers) as arrays,
//! and their flat text twins (`issues_text`, `cameras_text`: the items joined
//! with "; ", for clients such as QGIS 3.22 that drop arrays).

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};

use super::auth::Caller;
use super::error::ServiceError;
use super::features::FeatureSet;
use super::openapi::types::FormatQuery;
use super::{base_url, query_pairs, AppState};
use crate::layers::outputs::LIST_SEPARATOR;

/// What a property holds across the features that have it.
#[derive(Default)]
struct Seen {
    types: Vec<&'static str>,
    /// Item types, when it is an array.
    items: Vec<&'static str>,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn add(list: &mut Vec<&'static str>, t: &'static str) {
    if !list.contains(&t) {
        list.push(t);
    }
}

/// The JSON Schema of one property from the types seen.
fn property_schema(name: &str, seen: &Seen, twins: &BTreeMap<String, String>) -> Value {
    let mut types: Vec<&str> = seen
        .types
        .iter()
        .copied()
        .filter(|t| *t != "null")
        .collect();
    // Whole numbers and others: numbers.
    if types.contains(&"number") {
        types.retain(|t| *t != "integer");
    }
    let mut s = Map::new();
    s.insert("title".into(), json!(name));
    match types.as_slice() {
        [] => {}
        [t] => {
            s.insert("type".into(), json!(t));
        }
        many => {
            s.insert("type".into(), json!(many));
        }
    }
    if types.contains(&"array") {
        let items: Vec<&str> = seen
            .items
            .iter()
            .copied()
            .filter(|t| *t != "null")
            .collect();
        if let [t] = items.as_slice() {
            s.insert("items".into(), json!({"type": t}));
        }
    }
    if let Some(twin) = twins.get(name) {
        s.insert(
            "description".into(),
            json!(format!(
                "a list, as a JSON array; the same items as text are in {twin:?} (for clients that drop arrays)"
            )),
        );
    }
    if let Some(list) = twins.iter().find(|(_, t)| *t == name).map(|(l, _)| l) {
        s.insert(
            "description".into(),
            json!(format!(
                "the items of {list:?} as one text, joined with {LIST_SEPARATOR:?} (\"\" when none), for clients that drop arrays (QGIS 3.22)"
            )),
        );
    }
    Value::Object(s)
}

/// The geometry property: Part 3's `format` for the collection's one
/// geometry type (a layer mixing a type with its multi type is served as the
/// multi type).
fn geometry_schema(types: &[String]) -> Value {
    let mut t: Vec<&str> = types.iter().map(String::as_str).collect();
    for (one, multi) in [
        ("Point", "MultiPoint"),
        ("LineString", "MultiLineString"),
        ("Polygon", "MultiPolygon"),
    ] {
        if t.contains(&one) && t.contains(&multi) {
            t.retain(|x| *x != one);
        }
    }
    let format = match t.as_slice() {
        [one] => format!("geometry-{}", one.to_ascii_lowercase()),
        _ => "geometry-any".into(),
    };
    json!({"title": "geometry", "format": format, "x-ogc-role": "primary-geometry"})
}

/// The queryables of a collection, from its features.
pub fn schema(set: &FeatureSet, id_url: &str, title: &str) -> Value {
    #[derive(serde::Deserialize)]
    struct Part {
        geometry: Option<Box<serde_json::value::RawValue>>,
        properties: Option<Map<String, Value>>,
    }
    #[derive(serde::Deserialize)]
    struct GeomType {
        #[serde(rename = "type")]
        kind: String,
    }
    let mut props: BTreeMap<String, Seen> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut geometry_types: Vec<String> = Vec::new();
    for f in &set.features {
        let Ok(part) = serde_json::from_str::<Part>(&f.json) else {
            continue;
        };
        if let Some(g) = part
            .geometry
            .and_then(|g| serde_json::from_str::<GeomType>(g.get()).ok())
        {
            if !geometry_types.contains(&g.kind) {
                geometry_types.push(g.kind);
            }
        }
        for (k, v) in part.properties.unwrap_or_default() {
            let seen = props.entry(k.clone()).or_insert_with(|| {
                order.push(k.clone());
                Seen::default()
            });
            add(&mut seen.types, json_type(&v));
            if let Value::Array(a) = &v {
                for x in a {
                    add(&mut seen.items, json_type(x));
                }
            }
        }
    }
    // A list property `x` and its text twin `x_text`.
    let twins: BTreeMap<String, String> = props
        .iter()
        .filter(|(_, s)| s.types.contains(&"array"))
        .map(|(k, _)| (k.clone(), format!("{k}_text")))
        .filter(|(_, t)| props.contains_key(t))
        .collect();
    let mut properties = Map::new();
    properties.insert("geometry".into(), geometry_schema(&geometry_types));
    for k in &order {
        properties.insert(k.clone(), property_schema(k, &props[k], &twins));
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": id_url,
        "type": "object",
        "title": title,
        "properties": properties,
        "additionalProperties": false,
    })
}

/// The properties of a collection's features, as JSON Schema.
///
/// OGC API – Features Part 3: each property's type, list properties as
/// arrays and their text twins.
#[utoipa::path(get, path = "/collections/{collectionId}/queryables", tag = "Data", operation_id = "queryables",
    params(("collectionId" = CollectionId, Path, description = "the collection, `{dataset}.{layer}`"), FormatQuery),
    responses(
        (status = 200, description = "the collection's properties", content_type = "application/schema+json", body = Object),
        (status = 304, description = "not modified"),
        (status = 400, description = "an unknown parameter or format"),
        (status = 401, description = "no valid token"),
        (status = 403, description = "the layer is not for this caller's role, or the dataset outside its scope"),
        (status = 404, description = "no such collection")))]
pub async fn queryables(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ServiceError> {
    for (k, v) in query_pairs(&req)? {
        match k.as_str() {
            "f" if matches!(
                v.as_str(),
                "json" | "geojson" | "application/json" | "application/geo+json"
            ) => {}
            "f" => {
                return Err(ServiceError::BadRequest(format!(
                    "unsupported format f={v:?}: this service offers json"
                )))
            }
            _ => return Err(ServiceError::UnknownParameter(k)),
        }
    }
    let id = path.into_inner();
    let (dataset, layer) = id
        .split_once('.')
        .filter(|(d, l)| !d.is_empty() && !l.is_empty())
        .ok_or_else(|| ServiceError::NotFound(format!("no collection {id:?}")))?;
    caller.require_read(dataset, layer)?;
    let set = super::ogc::load_set(&state, dataset, layer).await?;
    let base = base_url(&req, &state);
    let validators = super::conditional::Validators::for_layer(&set.meta, &base);
    if let Some(r) = validators.not_modified(&req) {
        return Ok(r);
    }
    let url = format!("{base}/collections/{id}/queryables");
    let title = format!("{dataset} {layer}");
    let doc = web::block(move || schema(&set, &url, &title)).await?;
    let mut res = HttpResponse::Ok();
    validators.apply(&mut res);
    Ok(res
        .content_type("application/schema+json")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(doc.to_string()))
}
