//! The OpenAPI 3.0 document served at `/api`: self-contained (only local
//! `#/components/...` references), with the server URL set to the public base.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::error::ServiceError;
use super::{base_url, AppState};

fn op(tag: &str, summary: &str, params: Value, responses: Value) -> Value {
    json!({"tags": [tag], "summary": summary, "parameters": params, "responses": responses})
}

fn ok(desc: &str, media: &str, schema: Value) -> Value {
    json!({"description": desc, "content": {media: {"schema": schema}}})
}

fn errors(codes: &[&str]) -> Value {
    let mut m = serde_json::Map::new();
    for c in codes {
        m.insert(
            c.to_string(),
            json!({"$ref": "#/components/responses/Problem"}),
        );
    }
    Value::Object(m)
}

fn with(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// GET routes whose responses carry an ETag and may answer 304.
const CONDITIONAL: [&str; 9] = [
    "/",
    "/conformance",
    "/collections",
    "/collections/{collectionId}",
    "/collections/{collectionId}/items",
    "/collections/{collectionId}/items/{featureId}",
    "/api/v1/datasets/{dataset}/layers/{layer}",
    "/api/v1/jobs",
    "/api/v1/jobs/{jobId}",
];

/// Adds what every GET route shares: the 304 of the conditional ones, and a
/// HEAD operation (the GET's headers, no body) beside every GET.
fn add_head_and_304(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(get) = item.get_mut("get") else {
            continue;
        };
        if CONDITIONAL.contains(&path.as_str()) {
            get["responses"]["304"] = json!({"$ref": "#/components/responses/NotModified"});
        }
        let mut responses = serde_json::Map::new();
        if let Some(r) = get["responses"].as_object() {
            for status in r.keys() {
                let description = if status == "304" {
                    "not modified"
                } else {
                    "the headers the GET would send, without its body"
                };
                responses.insert(status.clone(), json!({"description": description}));
            }
        }
        let head = json!({
            "tags": get["tags"].clone(),
            "summary": format!("Headers only: {}", get["summary"].as_str().unwrap_or("")),
            "parameters": get["parameters"].clone(),
            "responses": responses,
        });
        item["head"] = head;
    }
}

/// `GET /api/v1/jobs`, paged, with its schema and the 304 response (apart
/// from the main document, whose size is at `json!`'s recursion limit).
fn add_jobs_list(doc: &mut Value) {
    let p = |n: &str| json!({"$ref": format!("#/components/parameters/{n}")});
    let app = "application/json";
    let (default, max) = (
        super::jobs::http::DEFAULT_LIMIT,
        super::jobs::http::MAX_LIMIT,
    );
    let limit = json!({"name": "limit", "in": "query", "required": false, "description": "values above the maximum get the maximum", "schema": {"type": "integer", "minimum": 1, "maximum": max, "default": default}});
    let dataset =
        json!({"name": "dataset", "in": "query", "required": false, "schema": {"type": "string"}});
    doc["paths"]["/api/v1/jobs"] = json!({"get": op("Jobs", "Jobs, newest first, a page at a time (finished jobs are removed after the server's retention age)", json!([dataset, limit, p("offset")]), with(json!({"200": ok("a page of jobs, with a next link while more follow", app, json!({"$ref": "#/components/schemas/Jobs"}))}), errors(&["400", "401", "403"])))});
    doc["components"]["schemas"]["Jobs"] = json!({"type": "object", "required": ["jobs", "links"], "properties": {"jobs": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}}, "numberReturned": {"type": "integer", "minimum": 0}, "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}});
    doc["components"]["responses"]["NotModified"] = json!({"description": "the copy the client holds (If-None-Match, else If-Modified-Since) is current", "headers": {"ETag": {"schema": {"type": "string"}}}});
}

/// The document, for a given server base URL and items page maximum.
pub fn document(base: &str, max_items: usize) -> Value {
    let mut doc = document_without_head(base, max_items);
    add_jobs_list(&mut doc);
    add_head_and_304(&mut doc);
    doc
}

fn document_without_head(base: &str, max_items: usize) -> Value {
    let p = |n: &str| json!({"$ref": format!("#/components/parameters/{n}")});
    let obj = json!({"type": "object"});
    let geo = "application/geo+json";
    let app = "application/json";
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "wangge",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Service grids (网格) and camera coverage: datasets, jobs and OGC API – Features collections.",
            "license": {"name": "MIT OR Apache-2.0"}
        },
        "servers": [{"url": base}],
        "security": [{}, {"bearer": []}, {"basic": []}],
        "paths": {
            "/": {"get": op("Capabilities", "Landing page", json!([p("f")]), with(json!({"200": ok("links to the API", app, json!({"$ref": "#/components/schemas/Landing"}))}), errors(&["400"])))},
            "/conformance": {"get": op("Capabilities", "Conformance classes", json!([p("f")]), with(json!({"200": ok("conformance classes", app, json!({"$ref": "#/components/schemas/Conformance"}))}), errors(&["400"])))},
            "/api": {"get": op("Capabilities", "This API definition", json!([]), json!({"200": ok("the OpenAPI document", "application/vnd.oai.openapi+json;version=3.0", obj.clone())}))},
            "/health": {"get": op("Capabilities", "Liveness", json!([]), json!({"200": ok("the service is up", app, obj.clone())}))},
            "/collections": {"get": op("Data", "The collections this caller may read", json!([p("f")]), with(json!({"200": ok("collections", app, json!({"$ref": "#/components/schemas/Collections"}))}), errors(&["400", "401"])))},
            "/collections/{collectionId}": {"get": op("Data", "One collection", json!([p("collectionId"), p("f")]), with(json!({"200": ok("the collection", app, json!({"$ref": "#/components/schemas/Collection"}))}), errors(&["400", "401", "403", "404"])))},
            "/collections/{collectionId}/items": {"get": op("Data", "Features of a collection, a page at a time", json!([p("collectionId"), p("limit"), p("offset"), p("bbox"), p("bbox-crs"), p("f")]), with(json!({"200": ok("a page of features", geo, json!({"$ref": "#/components/schemas/FeatureCollection"}))}), errors(&["400", "401", "403", "404"])))},
            "/collections/{collectionId}/items/{featureId}": {"get": op("Data", "One feature", json!([p("collectionId"), p("featureId"), p("f")]), with(json!({"200": ok("the feature", geo, json!({"$ref": "#/components/schemas/Feature"}))}), errors(&["400", "401", "403", "404"])))},
            "/api/v1/datasets": {"get": op("Datasets", "Datasets and their layers", json!([]), with(json!({"200": ok("datasets", app, obj.clone())}), errors(&["401"])))},
            "/api/v1/datasets/{dataset}": {
                "get": op("Datasets", "A dataset's layers and jobs", json!([p("dataset")]), with(json!({"200": ok("the dataset", app, obj.clone())}), errors(&["401", "403", "404"]))),
                "delete": op("Datasets", "Delete a dataset and all its layers (planner)", json!([p("dataset")]), with(json!({"204": {"description": "deleted"}}), errors(&["401", "403", "404"])))
            },
            "/api/v1/datasets/{dataset}/layers/{layer}": {
                "put": with(op("Datasets", "Upload (or replace) a layer; validated per feature (planner). Layers: areas, households, cameras, buildings, barriers, sites, candidates, and grids (adopted grids, for updates)", json!([p("dataset"), p("layer"), p("crs"), p("strict"), p("code_field"), p("name_field"), p("kind_field"), p("households_field"), p("persons_field"), p("id_field")]),
                    with(json!({"200": ok("replaced: the layer report", app, json!({"$ref": "#/components/schemas/LayerReport"})), "201": ok("created: the layer report", app, json!({"$ref": "#/components/schemas/LayerReport"}))}), errors(&["400", "401", "403", "413", "415"]))),
                    json!({"requestBody": {"required": true, "description": "a GeoJSON FeatureCollection; Content-Encoding gzip accepted", "content": {geo: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}, app: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}})),
                "get": op("Datasets", "The whole layer as GeoJSON", json!([p("dataset"), p("layer")]), with(json!({"200": ok("the layer", geo, json!({"$ref": "#/components/schemas/FeatureCollection"}))}), errors(&["401", "403", "404"]))),
                "delete": op("Datasets", "Delete a layer (planner)", json!([p("dataset"), p("layer")]), with(json!({"204": {"description": "deleted"}}), errors(&["401", "403", "404"])))
            },
            "/api/v1/datasets/{dataset}/layers/{layer}/report": {"get": op("Datasets", "A layer's metadata and upload report", json!([p("dataset"), p("layer")]), with(json!({"200": ok("the report", app, obj.clone())}), errors(&["401", "403", "404"])))},
            "/api/v1/datasets/{dataset}/partition": {"post": with(op("Jobs", "Start a partition job (planner); the body is the rules document, or empty for the per-area presets. With update=true the dataset's current grids are updated with the smallest change (census update) and a grid_changes layer is written", json!([p("dataset"), {"name": "update", "in": "query", "required": false, "schema": {"type": "boolean", "default": false}}]), with(json!({"202": {"$ref": "#/components/responses/JobStarted"}}), errors(&["400", "401", "403", "404", "409", "422"]))), json!({"requestBody": {"required": false, "content": {app: {"schema": {"$ref": "#/components/schemas/Rules"}}}}}))},
            "/api/v1/datasets/{dataset}/coverage": {"post": with(op("Jobs", "Start a coverage job (planner)", json!([p("dataset")]), with(json!({"202": {"$ref": "#/components/responses/JobStarted"}}), errors(&["400", "401", "403", "404", "409", "422"]))), json!({"requestBody": {"required": false, "content": {app: {"schema": {"type": "object", "additionalProperties": false, "properties": {"h3_resolution": {"type": "integer", "minimum": 7, "maximum": 15}, "area_coverage": {"type": "boolean"}, "gaps": {"type": "boolean"}}}}}}}))},
            "/api/v1/datasets/{dataset}/propose": {"post": with(op("Jobs", "Start a camera-siting job (planner)", json!([p("dataset")]), with(json!({"202": {"$ref": "#/components/responses/JobStarted"}}), errors(&["400", "401", "403", "404", "409", "422"]))), json!({"requestBody": {"required": true, "content": {app: {"schema": {"type": "object", "additionalProperties": false, "properties": {"count": {"type": "integer", "minimum": 1}, "target_coverage": {"type": "number"}, "range_m": {"type": "number"}, "fov_deg": {"type": "number"}, "azimuth_deg": {"type": "number"}, "orientations": {"type": "integer", "minimum": 1, "maximum": 360}, "site_weight": {"type": "integer"}}}}}}}))},
            "/api/v1/jobs/{jobId}": {
                "get": op("Jobs", "A job's state, progress, timing and results", json!([p("jobId")]), with(json!({"200": ok("the job", app, json!({"$ref": "#/components/schemas/Job"}))}), errors(&["401", "404"]))),
                "delete": op("Jobs", "Cancel a job (planner)", json!([p("jobId")]), with(json!({"202": ok("cancelling", app, json!({"$ref": "#/components/schemas/Job"}))}), errors(&["401", "403", "404", "409"])))
            },
            "/api/v1/jobs/{jobId}/cancel": {"post": op("Jobs", "Cancel a job (planner)", json!([p("jobId")]), with(json!({"202": ok("cancelling", app, json!({"$ref": "#/components/schemas/Job"}))}), errors(&["401", "403", "404", "409"])))}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}, "basic": {"type": "http", "scheme": "basic", "description": "any user name; the token as the password"}},
            "parameters": {
                "f": {"name": "f", "in": "query", "required": false, "schema": {"type": "string", "enum": ["json", "geojson"]}},
                "collectionId": {"name": "collectionId", "in": "path", "required": true, "description": "`{dataset}.{layer}`", "schema": {"type": "string"}},
                "featureId": {"name": "featureId", "in": "path", "required": true, "schema": {"type": "string"}},
                "limit": {"name": "limit", "in": "query", "required": false, "style": "form", "explode": false, "description": "values above the maximum get the maximum", "schema": {"type": "integer", "minimum": 1, "maximum": max_items, "default": 10}},
                "offset": {"name": "offset", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 0, "default": 0}},
                "bbox": {"name": "bbox", "in": "query", "required": false, "style": "form", "explode": false, "description": "features whose geometry intersects the box (not merely their bounding box)", "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
                "bbox-crs": {"name": "bbox-crs", "in": "query", "required": false, "schema": {"type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]}},
                "dataset": {"name": "dataset", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}},
                "layer": {"name": "layer", "in": "path", "required": true, "schema": {"type": "string"}},
                "jobId": {"name": "jobId", "in": "path", "required": true, "schema": {"type": "string"}},
                "crs": {"name": "crs", "in": "query", "required": false, "description": "EPSG:n, CRS84, GCJ02 or BD09", "schema": {"type": "string"}},
                "strict": {"name": "strict", "in": "query", "required": false, "schema": {"type": "boolean"}},
                "code_field": {"name": "code_field", "in": "query", "required": false, "schema": {"type": "string", "default": "code"}},
                "name_field": {"name": "name_field", "in": "query", "required": false, "schema": {"type": "string", "default": "name"}},
                "kind_field": {"name": "kind_field", "in": "query", "required": false, "schema": {"type": "string", "default": "kind"}},
                "households_field": {"name": "households_field", "in": "query", "required": false, "schema": {"type": "string", "default": "households"}},
                "persons_field": {"name": "persons_field", "in": "query", "required": false, "schema": {"type": "string", "default": "persons"}},
                "id_field": {"name": "id_field", "in": "query", "required": false, "schema": {"type": "string", "default": "id"}}
            },
            "responses": {
                "Problem": {"description": "an error (RFC 9457)", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}},
                "JobStarted": {"description": "the job is queued", "headers": {"Location": {"schema": {"type": "string"}}}, "content": {app: {"schema": {"type": "object", "required": ["id", "url"], "properties": {"id": {"type": "string"}, "url": {"type": "string"}, "state": {"type": "string"}}}}}}
            },
            "schemas": {
                "Link": {"type": "object", "required": ["href"], "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"}, "title": {"type": "string"}}},
                "Landing": {"type": "object", "required": ["links"], "properties": {"title": {"type": "string"}, "description": {"type": "string"}, "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "Conformance": {"type": "object", "required": ["conformsTo"], "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}}},
                "Collection": {"type": "object", "required": ["id", "links"], "properties": {"id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "itemType": {"type": "string"}, "crs": {"type": "array", "items": {"type": "string"}}, "extent": {"type": "object"}, "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "Collections": {"type": "object", "required": ["links", "collections"], "properties": {"links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}, "collections": {"type": "array", "items": {"$ref": "#/components/schemas/Collection"}}}},
                "Feature": {"type": "object", "required": ["type", "geometry", "properties"], "properties": {"type": {"type": "string", "enum": ["Feature"]}, "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]}, "geometry": {"type": "object", "nullable": true}, "properties": {"type": "object", "nullable": true}, "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "FeatureCollection": {"type": "object", "required": ["type", "features"], "properties": {"type": {"type": "string", "enum": ["FeatureCollection"]}, "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}}, "numberMatched": {"type": "integer", "minimum": 0}, "numberReturned": {"type": "integer", "minimum": 0}, "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}},
                "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
                "Rules": {"type": "object", "additionalProperties": false, "required": ["min_households", "max_households"], "properties": {"min_households": {"type": "integer", "minimum": 0}, "max_households": {"type": "integer", "minimum": 1}, "target_households": {"type": "integer", "nullable": true}, "max_persons": {"type": "integer", "nullable": true}, "max_area_m2": {"type": "number", "nullable": true}}},
                "LayerReport": {"type": "object", "properties": {"dataset": {"type": "string"}, "layer": {"type": "string"}, "collection": {"type": "string"}, "features": {"type": "integer"}, "accepted": {"type": "integer"}, "rejected": {"type": "integer"}, "rejections": {"type": "array", "items": {"type": "object", "properties": {"index": {"type": "integer"}, "id": {"type": "string"}, "reason": {"type": "string"}}}}, "crs": {"type": "string"}}},
                "Job": {"type": "object", "required": ["id", "state", "progress", "stage"], "properties": {"id": {"type": "string"}, "dataset": {"type": "string"}, "kind": {"type": "string"}, "state": {"type": "string", "enum": ["queued", "running", "succeeded", "failed", "cancelled"]}, "progress": {"type": "number", "minimum": 0, "maximum": 1}, "stage": {"type": "string"}, "reason": {"type": "string"}, "created": {"type": "string"}, "started": {"type": "string"}, "finished": {"type": "string"}, "elapsed_s": {"type": "number"}, "results": {"type": "array", "items": {"type": "object"}}, "summary": {}}}
            }
        }
    })
}

/// `GET /api`
pub async fn api(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ServiceError> {
    let base = base_url(&req, &state);
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.oai.openapi+json;version=3.0")
        .body(document(&base, state.config.max_items).to_string()))
}
