//! What the annotations leave to the running server: its URL and security,
//! the [`super::types::Described`] schemas, the 3.0 form of exclusive bounds,
//! problem+json bodies for errors, HEAD beside every GET, one upload path per
//! layer kind, and the links a stateful client follows (upload a layer, start
//! a job, read its result).

use serde_json::{json, Map, Value};

use super::types::{described, upload_names};
use super::upload;

/// What the document depends on.
pub struct Server<'a> {
    pub base: &'a str,
    pub max_items: usize,
    pub tokens: bool,
    pub max_jobs: usize,
}

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "head"];
const LAYER_PATH: &str = "/api/v1/datasets/{dataset}/layers/{layer}";

/// Finishes the generated document for `server`.
pub fn finish(mut doc: Value, server: &Server<'_>) -> Value {
    doc["servers"] = json!([{"url": server.base}]);
    doc["info"]["license"] = json!({"name": env!("CARGO_PKG_LICENSE")});
    doc["info"]["version"] = json!(env!("CARGO_PKG_VERSION"));
    for (name, schema) in described() {
        doc["components"]["schemas"][name] = schema;
    }
    parameters(&mut doc);
    split_uploads(&mut doc);
    // An empty body: the per-area presets, the default options.
    for job in ["partition", "coverage"] {
        let path = format!("/api/v1/datasets/{{dataset}}/{job}");
        if doc["paths"][&path]["post"]["requestBody"].is_object() {
            doc["paths"][&path]["post"]["requestBody"]["required"] = json!(false);
        }
    }
    limits(&mut doc, server);
    security(&mut doc, server.tokens);
    problems(&mut doc);
    heads(&mut doc);
    links(&mut doc);
    exclusive_bounds(&mut doc);
    doc
}

/// Every operation of the document, with its path and method.
fn operations(doc: &mut Value) -> impl Iterator<Item = (String, &'static str, &mut Value)> + '_ {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .flat_map(|(path, item)| {
            let path = path.clone();
            item.as_object_mut()
                .into_iter()
                .flat_map(|m| m.iter_mut())
                .filter_map(move |(method, op)| {
                    let m = METHODS.iter().find(|x| **x == method)?;
                    Some((path.clone(), *m, op))
                })
        })
}

/// Parameters as a query string carries them: an optional parameter is left
/// out rather than sent empty, so it is not `nullable` (utoipa's reading of
/// `Option`), and its schema is the type's own.
fn parameters(doc: &mut Value) {
    for (_, _, op) in operations(doc) {
        let Some(o) = op.as_object_mut() else {
            continue;
        };
        if o.get("parameters").is_some_and(Value::is_null) {
            o.remove("parameters");
        }
        for p in o
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(schema) = p.get_mut("schema").and_then(Value::as_object_mut) else {
                continue;
            };
            schema.remove("nullable");
            // A count past 2^63 is read as "as many as there are": no int64.
            if schema.get("type").is_some_and(|t| t == "integer") {
                schema.remove("format");
            }
            let single = match schema.get("allOf") {
                Some(Value::Array(a)) if a.len() == 1 && schema.len() == 1 => Some(a[0].clone()),
                _ => None,
            };
            if let Some(inner) = single {
                p["schema"] = inner;
            }
        }
    }
}

/// The page maxima in the `limit` descriptions (larger values get the
/// maximum, so they are not a bound of the schema).
fn limits(doc: &mut Value, server: &Server<'_>) {
    for (path, _, op) in operations(doc) {
        let max = if path == "/api/v1/jobs" {
            server.max_jobs
        } else {
            server.max_items
        };
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if p["name"] == "limit" {
                let d = p["description"].as_str().unwrap_or("").to_string();
                p["description"] = json!(format!("{d} This server's maximum: {max}."));
            }
        }
    }
}

/// With tokens, every operation that does not say otherwise needs one (Bearer,
/// or Basic with the token as the password); without, none does and no
/// operation answers 401.
fn security(doc: &mut Value, tokens: bool) {
    if tokens {
        doc["components"]["securitySchemes"] = json!({
            "bearer": {"type": "http", "scheme": "bearer", "description": "a token of the server's tokens file"},
            "basic": {"type": "http", "scheme": "basic", "description": "any user name; the token as the password"}});
        doc["security"] = json!([{"bearer": []}, {"basic": []}]);
        return;
    }
    for (_, _, op) in operations(doc) {
        if let Some(o) = op.as_object_mut() {
            o.remove("security");
        }
        if let Some(r) = op["responses"].as_object_mut() {
            r.remove("401");
        }
    }
}

/// Error responses carry the problem document; every operation may answer
/// 406 (the response cannot be sent in a content coding the request
/// accepts); a 304 carries the tag.
fn problems(doc: &mut Value) {
    let problem =
        json!({"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}});
    for (_, _, op) in operations(doc) {
        let Some(responses) = op["responses"].as_object_mut() else {
            continue;
        };
        responses.entry("406").or_insert_with(|| {
            json!({"description": "no content coding the request accepts (Accept-Encoding) is available"})
        });
        for (status, r) in responses.iter_mut() {
            if status.starts_with('4') || status.starts_with('5') {
                r["content"] = problem.clone();
            }
            if status == "401" {
                r["headers"] = json!({"WWW-Authenticate": {"description": "Basic and Bearer challenges", "schema": {"type": "string"}}});
            }
            if status == "304" {
                r["headers"] = json!({"ETag": {"schema": {"type": "string"}}});
            }
        }
    }
}

/// A HEAD operation beside every GET: its parameters and statuses, no body.
fn heads(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for item in paths.values_mut() {
        let Some(get) = item.get("get").cloned() else {
            continue;
        };
        let mut head = get;
        if let Some(id) = head["operationId"].as_str() {
            head["operationId"] = json!(format!("{id}_head"));
        }
        let summary = head["summary"].as_str().unwrap_or("").to_string();
        head["summary"] = json!(format!("Headers only: {summary}"));
        if let Some(r) = head["responses"].as_object_mut() {
            for v in r.values_mut() {
                if let Some(o) = v.as_object_mut() {
                    o.remove("content");
                }
            }
        }
        item["head"] = head;
    }
}

/// The layer path of each uploadable layer (`areas`, …, `grids`), with the
/// body that layer reads: the generic path keeps the result layers, which
/// answer PUT with 405.
fn split_uploads(doc: &mut Value) {
    let Some(generic) = doc["paths"].get(LAYER_PATH).cloned() else {
        return;
    };
    let uploads = upload_names();
    for name in &uploads {
        let mut item = generic.clone();
        for (method, op) in item.as_object_mut().into_iter().flatten() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            params.retain(|p| p["name"] != "layer");
            // Adopted grids are read as written: no reading options.
            if *name == "grids" && method == "put" {
                params.retain(|p| p["in"] != "query");
            }
            if let Some(id) = op["operationId"].as_str() {
                op["operationId"] = json!(format!("{id}_{name}"));
            }
        }
        let body = format!("Upload_{name}");
        doc["components"]["schemas"][&body] = upload::collection_schema(name);
        let schema = json!({"$ref": format!("#/components/schemas/{body}")});
        let mut content = json!({"application/geo+json": {"schema": schema.clone()}, "application/json": {"schema": schema}});
        // Adopted grids are read as wangge writes them: GeoJSON only.
        if *name != "grids" {
            content["application/zip"] =
                binary_file("a zipped Shapefile (.shp, .shx, .dbf, .prj, .cpg)");
            content["application/geopackage+sqlite3"] = binary_file("a GeoPackage");
            content["text/csv"] = binary_file("a CSV point list");
            content["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"] =
                binary_file("an Excel point list");
        }
        item["put"]["requestBody"] = json!({"required": true,
            "description": "a GeoJSON FeatureCollection (RFC 7946, or with the crs of the `crs` parameter), or for other layers a Shapefile (zipped), GeoPackage, CSV or Excel file; Content-Encoding gzip, deflate, br or zstd accepted",
            "content": content});
        let path = LAYER_PATH.replace("{layer}", name);
        doc["paths"][path] = item;
    }
    // The generic path: the result layers, which are read and deleted only.
    let results: Vec<String> = super::types::layer_names()
        .into_iter()
        .filter(|n| !uploads.contains(n))
        .map(String::from)
        .collect();
    let item = &mut doc["paths"][LAYER_PATH];
    if let Some(o) = item.as_object_mut() {
        o.remove("put");
    }
    for (_, op) in item.as_object_mut().into_iter().flatten() {
        for p in op
            .get_mut("parameters")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if p["name"] == "layer" {
                p["schema"] = json!({"type": "string", "enum": results});
                p["description"] =
                    json!("a layer a job wrote (uploaded layers have paths of their own)");
            }
        }
    }
}

/// Adds `link` under the responses `statuses` of the operation `operation_id`.
fn link(doc: &mut Value, operation_id: &str, statuses: &[&str], name: &str, link: Value) {
    for (_, _, op) in operations(doc) {
        if op["operationId"] != operation_id {
            continue;
        }
        for s in statuses {
            if op["responses"].get(*s).is_some() {
                op["responses"][*s]["links"][name] = link.clone();
            }
        }
    }
}

/// The links of the stateful phase: upload the layers a job needs into one
/// dataset, start the job, follow it to its results.
fn links(doc: &mut Value) {
    let same =
        |op: &str| json!({"operationId": op, "parameters": {"dataset": "$request.path.dataset"}});
    let stored = ["200", "201"];
    for (from, to) in [
        ("areas", "households"),
        ("households", "cameras"),
        ("cameras", "candidates"),
        ("households", "areas"),
    ] {
        link(
            doc,
            &format!("put_layer_{from}"),
            &stored,
            &format!("upload_{to}"),
            same(&format!("put_layer_{to}")),
        );
    }
    for (from, job) in [
        ("households", "partition"),
        ("areas", "partition"),
        ("cameras", "coverage"),
        ("candidates", "propose"),
    ] {
        link(
            doc,
            &format!("put_layer_{from}"),
            &stored,
            &format!("start_{job}"),
            same(job),
        );
    }
    for name in upload_names() {
        let op = format!("put_layer_{name}");
        link(
            doc,
            &op,
            &stored,
            "items",
            json!({"operationId": "items", "parameters": {"collectionId": "$response.body#/collection"}}),
        );
        link(
            doc,
            &op,
            &stored,
            "report",
            json!({"operationId": "layer_report", "parameters": {"dataset": "$request.path.dataset", "layer": name}}),
        );
        link(
            doc,
            &op,
            &stored,
            "dataset",
            json!({"operationId": "dataset", "parameters": {"dataset": "$request.path.dataset"}}),
        );
    }
    for name in upload_names() {
        let op = format!("put_layer_{name}");
        for (link_name, target) in [("layer", "get_layer"), ("delete", "delete_layer")] {
            link(
                doc,
                &op,
                &stored,
                link_name,
                json!({"operationId": format!("{target}_{name}"), "parameters": {"dataset": "$request.path.dataset"}}),
            );
        }
        link(
            doc,
            &op,
            &stored,
            "queryables",
            json!({"operationId": "queryables", "parameters": {"collectionId": "$response.body#/collection"}}),
        );
    }
    link(
        doc,
        "items",
        &["200"],
        "feature",
        json!({"operationId": "item", "parameters": {"collectionId": "$request.path.collectionId", "featureId": "$response.body#/features/0/id"}}),
    );
    for job in ["partition", "coverage", "propose"] {
        for (name, target) in [
            ("job", "job"),
            ("cancel", "cancel_job"),
            ("cancel_post", "cancel_job_post"),
        ] {
            link(
                doc,
                job,
                &["202"],
                name,
                json!({"operationId": target, "parameters": {"jobId": "$response.body#/id"}}),
            );
        }
    }
    link(
        doc,
        "job",
        &["200"],
        "result",
        json!({"operationId": "items", "parameters": {"collectionId": "$response.body#/results/0/collection"}}),
    );
    link(
        doc,
        "job",
        &["200"],
        "dataset",
        json!({"operationId": "dataset", "parameters": {"dataset": "$response.body#/dataset"}}),
    );
}

/// JSON Schema 2020-12's numeric `exclusiveMinimum: x` as OpenAPI 3.0 says
/// it: `minimum: x, exclusiveMinimum: true` (and the same for the maximum).
fn exclusive_bounds(v: &mut Value) {
    match v {
        Value::Object(m) => {
            fix(m, "exclusiveMinimum", "minimum");
            fix(m, "exclusiveMaximum", "maximum");
            m.values_mut().for_each(exclusive_bounds);
        }
        Value::Array(a) => a.iter_mut().for_each(exclusive_bounds),
        _ => {}
    }
}

fn fix(m: &mut Map<String, Value>, exclusive: &str, inclusive: &str) {
    if let Some(x) = m.get(exclusive).filter(|x| x.is_number()).cloned() {
        m.insert(inclusive.into(), x);
        m.insert(exclusive.into(), json!(true));
    }
}

/// A file body in a format JSON Schema cannot describe; one that cannot be
/// read as that format answers 422, like a layer with no usable feature.
fn binary_file(what: &str) -> Value {
    json!({"schema": {"type": "string", "format": "binary", "description": what}})
}
