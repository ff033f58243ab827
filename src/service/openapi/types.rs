//! The types of the API description: what each route reads and answers.
//!
//! Plain shapes derive [`ToSchema`]. Values whose constraints come from
//! constants ([`crate::bounds`], the page maximum, the layer names of
//! [`crate::service::access::LAYER_CLASSES`]) or that JSON Schema states
//! better by hand (alternatives, GeoJSON) implement [`Described`]: their
//! schema is written here as JSON Schema (the OpenAPI 3.0 dialect) from those
//! constants, and [`super::finish`] puts it in the document's components.

use serde_json::{json, Value};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema};
use utoipa::{IntoParams, ToSchema};

use crate::bounds;
use crate::layers::LayerKind;
use crate::service::access::LAYER_CLASSES;
use crate::store::{JobState, LayerSource};

/// A value whose schema is written from constants (see the module doc).
pub trait Described {
    /// The component name (`#/components/schemas/NAME`).
    const NAME: &'static str;
    /// The schema, OpenAPI 3.0 JSON Schema; `exclusiveMinimum`/`exclusiveMaximum`
    /// may be numbers (JSON Schema 2020-12 style): [`super::finish`] turns them
    /// into the 3.0 form.
    fn json_schema() -> Value;
}

/// Each [`Described`] type is a utoipa schema whose body [`super::finish`]
/// replaces, so handlers' annotations can name it like any other type.
macro_rules! described {
    ($($t:ident),* $(,)?) => {
        $(
            impl<'s> ToSchema<'s> for $t {
                fn schema() -> (&'s str, RefOr<Schema>) {
                    (<$t as Described>::NAME, ObjectBuilder::new().build().into())
                }
            }
        )*
        /// Every [`Described`] schema, by component name.
        pub fn described() -> Vec<(&'static str, Value)> {
            vec![$((<$t as Described>::NAME, <$t as Described>::json_schema())),*]
        }
    };
}

described!(
    DatasetName,
    LayerName,
    UploadLayerName,
    CollectionId,
    Bbox,
    CrsName,
    CrsUri,
    Format,
    Flag,
    Geometry,
    Feature,
    FeatureCollection,
    RulesDocument,
    Rules,
    CoverageOptions,
    ProposeOptions,
    Job,
);

/// Layer names as the access policy knows them: every layer the service
/// stores (uploaded or computed).
pub fn layer_names() -> Vec<&'static str> {
    LAYER_CLASSES.iter().map(|(name, _)| *name).collect()
}

/// Layers a client may upload: the input kinds, and `grids` (adopted grids).
pub fn upload_names() -> Vec<&'static str> {
    let mut v: Vec<&str> = LayerKind::ALL.iter().map(|k| k.as_str()).collect();
    v.push("grids");
    v
}

/// The pattern of a dataset name ([`crate::service::datasets::check_dataset_name`]).
pub const DATASET_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

/// A dataset name: 1–64 letters, digits, `_` or `-`.
pub struct DatasetName;
impl Described for DatasetName {
    const NAME: &'static str = "DatasetName";
    fn json_schema() -> Value {
        json!({"type": "string", "pattern": DATASET_PATTERN, "example": "langya",
               "description": "1–64 letters, digits, `_` or `-`"})
    }
}

/// A layer of a dataset: an uploaded kind or a job's result.
pub struct LayerName;
impl Described for LayerName {
    const NAME: &'static str = "LayerName";
    fn json_schema() -> Value {
        json!({"type": "string", "enum": layer_names()})
    }
}

/// A layer a client uploads.
pub struct UploadLayerName;
impl Described for UploadLayerName {
    const NAME: &'static str = "UploadLayerName";
    fn json_schema() -> Value {
        json!({"type": "string", "enum": upload_names()})
    }
}

/// A collection: `{dataset}.{layer}`.
pub struct CollectionId;
impl Described for CollectionId {
    const NAME: &'static str = "CollectionId";
    fn json_schema() -> Value {
        let layers = layer_names().join("|");
        json!({"type": "string", "pattern": format!("^[A-Za-z0-9_-]{{1,64}}\\.({layers})$"),
               "example": "langya.grids", "description": "`{dataset}.{layer}`"})
    }
}

/// `bbox`: 4 numbers (west, south, east, north), or 6 with heights (west,
/// south, low, east, north, high), CRS84 (or `bbox-crs`, in its axis order:
/// [`crate::service::ogc_crs::region`]). Every box of numbers is a query
/// with an answer: a west edge east of the east edge crosses the antimeridian
/// (OGC API – Features 1, 7.15.3), values past the ends of CRS84 end there (a
/// box past a pole ends at it), and a south edge north of the north edge
/// holds no point (an empty page). So the schema is the exact set the server
/// takes.
pub struct Bbox;
impl Described for Bbox {
    const NAME: &'static str = "Bbox";
    fn json_schema() -> Value {
        json!({"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"},
               "oneOf": [{"maxItems": 4}, {"minItems": 6}],
               "description": "west,south,east,north (or west,south,low,east,north,high) in CRS84, or the lower and upper corner in bbox-crs and its axis order. In CRS84 (and EPSG:4326/4490) west above east crosses the antimeridian, values past ±180 (longitude) or ±90 (latitude) end there, south above north matches nothing; in another CRS a lower corner above or right of the upper one matches nothing.",
               "example": [118.3, 32.3, 118.35, 32.35]})
    }
}

/// Case-insensitive regex text for a literal (JSON Schema patterns have no flags).
fn ci(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_uppercase(), c.to_ascii_lowercase())
            } else if "./+".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A CRS name as [`crate::crs::Crs::parse`] reads it.
pub struct CrsName;
impl Described for CrsName {
    const NAME: &'static str = "CrsName";
    fn json_schema() -> Value {
        let code = "[1-9][0-9]{0,8}";
        let list = |r: std::iter::StepBy<std::ops::RangeInclusive<u32>>| {
            r.map(|n| n.to_string()).collect::<Vec<_>>().join("|")
        };
        let cm3 = list((75..=135).step_by(3));
        let cm6 = list((75..=135).step_by(6));
        let gk = format!("{}(u|ü){}", ci("gauss-kr"), ci("ger "));
        let forms = [
            ci("cgcs2000"),
            format!("{}({cm3}){}", ci("cgcs2000-gk-cm-"), ci("e")),
            format!(
                "{} / 3-{}{gk}({}({cm3}){}|{}(2[5-9]|3[0-9]|4[0-5]))",
                ci("cgcs2000"),
                ci("degree "),
                ci("cm "),
                ci("e"),
                ci("zone ")
            ),
            format!(
                "{} / {gk}({}({cm6}){}|{}(1[3-9]|2[0-3]))",
                ci("cgcs2000"),
                ci("cm "),
                ci("e"),
                ci("zone ")
            ),
            format!("{}:?{code}", ci("epsg:")),
            ci("crs84"),
            ci("ogc:crs84"),
            ci("wgs84"),
            format!("{}-?02", ci("gcj")),
            format!("{}-?09", ci("bd")),
            format!("{}[^:]*:{code}", ci("urn:ogc:def:crs:epsg:")),
            format!("{}[^:]*:{}", ci("urn:ogc:def:crs:ogc:"), ci("crs84")),
            format!(
                "{}s?://{}[^/]*/{code}/*",
                ci("http"),
                ci("www.opengis.net/def/crs/epsg/")
            ),
            format!(
                "{}s?://{}[^/]*/{}/*",
                ci("http"),
                ci("www.opengis.net/def/crs/ogc/"),
                ci("crs84")
            ),
        ];
        json!({"type": "string", "pattern": format!("^ *({}) *$", forms.join("|")),
               "example": "EPSG:4549",
               "description": "EPSG:n (a code PROJ knows: another answers 422), CRS84, GCJ02 or BD09, an OGC URN or URI, CGCS2000 or a CGCS2000 Gauss-Krüger zone by its EPSG name (CGCS2000 / 3-degree Gauss-Kruger CM 117E) or as CGCS2000-GK-CM-117E (the 3-degree zone)"})
    }
}

/// A CRS as OGC API – Features Part 2 names it: a URI of the collections'
/// `crs` list ([`crate::service::ogc_crs`]).
pub struct CrsUri;
impl Described for CrsUri {
    const NAME: &'static str = "CrsUri";
    fn json_schema() -> Value {
        let codes: Vec<String> = crate::service::ogc_crs::offered_codes()
            .map(|c| c.to_string())
            .collect();
        let pattern = format!(
            "^(http://www\\.opengis\\.net/def/crs/OGC/1\\.3/CRS84|http://www\\.opengis\\.net/def/crs/EPSG/0/({})|https?://{}+/crs/(GCJ02|BD09))$",
            codes.join("|"),
            crate::service::ogc_crs::OWN_PREFIX_CLASS
        );
        json!({"type": "string", "pattern": pattern,
               "example": "http://www.opengis.net/def/crs/EPSG/0/4549",
               "description": "CRS84; EPSG 4326 or 4490 (latitude first), 3857, or a CGCS2000 Gauss-Krüger zone 4491-4554 (northing first) as http://www.opengis.net/def/crs/EPSG/0/n; GCJ-02 or BD-09 as this service's <base>/crs/GCJ02 and <base>/crs/BD09"})
    }
}

/// `f`: the encodings offered.
pub struct Format;
impl Described for Format {
    const NAME: &'static str = "Format";
    fn json_schema() -> Value {
        json!({"type": "string", "enum": ["json", "geojson", "application/json", "application/geo+json"]})
    }
}

/// A query flag: `true` or `false`.
pub struct Flag;
impl Described for Flag {
    const NAME: &'static str = "Flag";
    fn json_schema() -> Value {
        json!({"type": "boolean"})
    }
}

/// A GeoJSON geometry as served.
pub struct Geometry;
impl Described for Geometry {
    const NAME: &'static str = "Geometry";
    fn json_schema() -> Value {
        json!({"type": "object", "required": ["type"], "properties": {
            "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection"]},
            "coordinates": {"type": "array"},
            "geometries": {"type": "array", "items": {"$ref": "#/components/schemas/Geometry"}}}})
    }
}

/// A GeoJSON feature as served.
pub struct Feature;
impl Described for Feature {
    const NAME: &'static str = "Feature";
    fn json_schema() -> Value {
        json!({"type": "object", "required": ["type", "geometry", "properties"], "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
            "geometry": {"allOf": [{"$ref": "#/components/schemas/Geometry"}], "nullable": true},
            "properties": {"type": "object", "nullable": true},
            "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}})
    }
}

/// A GeoJSON FeatureCollection as served (a page of items, or a whole layer).
pub struct FeatureCollection;
impl Described for FeatureCollection {
    const NAME: &'static str = "FeatureCollection";
    fn json_schema() -> Value {
        json!({"type": "object", "required": ["type", "features"], "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "name": {"type": "string"},
            "features": {"type": "array", "items": {"$ref": "#/components/schemas/Feature"}},
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "links": {"type": "array", "items": {"$ref": "#/components/schemas/Link"}}}})
    }
}

/// A rules document ([`crate::model::Rules`]): the rules of a partition, or
/// of one area in `area_rules`. That the minimum is at most the maximum,
/// and the target between them, JSON Schema cannot say: rules that
/// contradict one another answer 422.
pub struct RulesDocument;
impl RulesDocument {
    fn properties() -> Value {
        let hh = bounds::MAX_HOUSEHOLDS;
        json!({
            "min_households": {"type": "integer", "minimum": 0, "maximum": hh},
            "max_households": {"type": "integer", "minimum": 1, "maximum": hh},
            "target_households": {"type": "integer", "minimum": 0, "maximum": hh, "nullable": true},
            "max_persons": {"type": "integer", "minimum": 1, "maximum": bounds::MAX_PERSONS, "nullable": true},
            "max_area_m2": {"type": "number", "exclusiveMinimum": 0, "nullable": true}})
    }
}
impl Described for RulesDocument {
    const NAME: &'static str = "RulesDocument";
    fn json_schema() -> Value {
        json!({"type": "object", "additionalProperties": false,
               "required": ["min_households", "max_households"],
               "description": "min_households ≤ target_households ≤ max_households (rules that contradict one another answer 422); a bound left out is not checked",
               "properties": Self::properties(),
               "example": {"min_households": 150, "max_households": 250}})
    }
}

/// The body of a partition job: a rules document for every area (or none,
/// for the presets of the areas' kinds), with `locked` grid codes and
/// `area_rules` (rules of their own for some areas) beside it.
pub struct Rules;
impl Described for Rules {
    const NAME: &'static str = "Rules";
    fn json_schema() -> Value {
        let beside = json!({
            "locked": {"type": "array", "items": {"type": "string"},
                       "description": "codes of grids in the dataset's current grids layer kept exactly as they are (not with update=true: 422); an unknown code fails the job, naming it"},
            "area_rules": {"type": "object", "maxProperties": bounds::MAX_AREA_RULES,
                           "additionalProperties": {"$ref": "#/components/schemas/RulesDocument"},
                           "description": "rules of their own for some areas, by area code: an area's own rules replace the job's rules (or its kind's preset) there; a code the dataset's areas layer does not have answers 422, naming it",
                           "example": {"341102001002": {"min_households": 150, "max_households": 250}}}});
        let mut with_rules = RulesDocument::properties();
        for (k, v) in beside.as_object().into_iter().flatten() {
            with_rules[k] = v.clone();
        }
        json!({"oneOf": [
                   {"type": "object", "additionalProperties": false,
                    "required": ["min_households", "max_households"],
                    "description": "rules for every area: min_households ≤ target_households ≤ max_households (rules that contradict one another answer 422)",
                    "properties": with_rules},
                   {"type": "object", "additionalProperties": false,
                    "description": "the presets of the areas' kinds, with overrides or locked grids (or neither)",
                    "properties": beside}],
               "example": {"min_households": 300, "max_households": 500, "max_persons": 2500}})
    }
}

/// The options of a coverage job ([`crate::service::engines::CoverageParams`]).
pub struct CoverageOptions;
impl Described for CoverageOptions {
    const NAME: &'static str = "CoverageOptions";
    fn json_schema() -> Value {
        json!({"type": "object", "additionalProperties": false, "properties": {
            "h3_resolution": {"type": "integer", "minimum": bounds::H3_RESOLUTION.start(), "maximum": bounds::H3_RESOLUTION.end(), "nullable": true, "description": "H3 resolution of the area-coverage cells (default 12)"},
            "area_coverage": {"type": "boolean", "nullable": true, "description": "compute coverage per area (default true)"},
            "gaps": {"type": "boolean", "nullable": true, "description": "compute the blind spots (default true)"}},
            "example": {"h3_resolution": 12}})
    }
}

/// The options of a proposals job ([`crate::service::engines::ProposeParams`]):
/// exactly one of `count` and `target_coverage`.
pub struct ProposeOptions;
impl Described for ProposeOptions {
    const NAME: &'static str = "ProposeOptions";
    fn json_schema() -> Value {
        let common = json!({
            "range_m": {"type": "number", "exclusiveMinimum": 0, "maximum": bounds::MAX_RANGE_M, "default": 50},
            "fov_deg": {"type": "number", "exclusiveMinimum": 0, "maximum": 360, "default": 360},
            "azimuth_deg": {"type": "number", "default": 0},
            "site_weight": {"type": "integer", "minimum": 0, "maximum": bounds::MAX_SITE_WEIGHT, "default": 0},
            "orientations": {"type": "integer", "minimum": bounds::ORIENTATIONS.start(), "maximum": bounds::ORIENTATIONS.end(), "default": 1}});
        let with = |name: &str, schema: Value| {
            let mut props = common.clone();
            props[name] = schema;
            json!({"type": "object", "additionalProperties": false, "required": [name], "properties": props})
        };
        json!({"oneOf": [
            with("count", json!({"type": "integer", "minimum": 1, "maximum": bounds::MAX_COUNT})),
            with("target_coverage", json!({"type": "number", "exclusiveMinimum": 0, "maximum": 1}))],
            "example": {"count": 5, "range_m": 60}})
    }
}

/// A job as shown to clients ([`crate::store::JobRecord`] with its links).
pub struct Job;
impl Described for Job {
    const NAME: &'static str = "Job";
    fn json_schema() -> Value {
        json!({"type": "object",
            "required": ["id", "dataset", "kind", "state", "progress", "stage", "params", "created", "results", "summary", "url"],
            "properties": {
                "id": {"type": "string"},
                "dataset": {"type": "string"},
                "kind": {"type": "string", "enum": ["partition", "coverage", "propose"]},
                "state": {"$ref": "#/components/schemas/JobState"},
                "progress": {"type": "number", "minimum": 0, "maximum": 1},
                "stage": {"type": "string"},
                "reason": {"type": "string", "description": "why it failed or was cancelled"},
                "params": {"type": "object", "description": "the job's options as the server read them"},
                "created": {"type": "string", "format": "date-time"},
                "started": {"type": "string", "format": "date-time"},
                "finished": {"type": "string", "format": "date-time"},
                "elapsed_s": {"type": "number", "minimum": 0},
                "results": {"type": "array", "items": {"$ref": "#/components/schemas/JobResult"}},
                "summary": {"type": "object", "nullable": true},
                "shards_total": {"type": "integer", "minimum": 0, "description": "a job cut into county shards (PostgreSQL store): how many"},
                "shards_done": {"type": "integer", "minimum": 0, "description": "shards whose results are stored"},
                "shards_failed": {"type": "integer", "minimum": 0, "description": "shards that failed (one fails the job)"},
                "url": {"type": "string"}}})
    }
}

/// A link.
#[derive(ToSchema)]
pub struct Link {
    pub href: String,
    pub rel: Option<String>,
    #[schema(rename = "type")]
    pub media_type: Option<String>,
    pub title: Option<String>,
}

/// The landing page.
#[derive(ToSchema)]
pub struct Landing {
    pub title: String,
    pub description: String,
    pub links: Vec<Link>,
}

/// The conformance classes.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct Conformance {
    pub conformsTo: Vec<String>,
}

/// Liveness.
#[derive(ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    pub version: String,
    pub jobs: JobCounts,
}

/// Jobs this process is working on.
#[derive(ToSchema)]
pub struct JobCounts {
    pub queued: u64,
    pub running: u64,
}

/// The spatial extent of a collection.
#[derive(ToSchema)]
pub struct SpatialExtent {
    /// One box: west, south, east, north.
    pub bbox: Vec<Vec<f64>>,
    pub crs: String,
}

/// A collection's extent.
#[derive(ToSchema)]
pub struct Extent {
    pub spatial: SpatialExtent,
}

/// A collection.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct Collection {
    pub id: String,
    pub title: String,
    pub description: String,
    pub itemType: String,
    pub crs: Vec<String>,
    pub storageCrs: String,
    pub extent: Option<Extent>,
    pub links: Vec<Link>,
}

/// The collections a caller may read.
#[derive(ToSchema)]
pub struct Collections {
    pub links: Vec<Link>,
    /// Every CRS items can be served in (OGC API – Features Part 2); each
    /// collection's `crs` is `["#/crs"]`, this list.
    pub crs: Vec<String>,
    pub collections: Vec<Collection>,
}

/// An error (RFC 9457). A job refused for its size also names the measure,
/// the estimate and the budget.
#[derive(ToSchema)]
pub struct Problem {
    #[schema(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// `cells` or `pairs` (a job too big).
    pub measure: Option<String>,
    pub estimate: Option<f64>,
    pub budget: Option<f64>,
}

/// A stored layer.
#[derive(ToSchema)]
pub struct LayerInfo {
    pub dataset: String,
    pub layer: String,
    pub collection: String,
    pub kind: String,
    pub source: LayerSource,
    pub features: u64,
    /// West, south, east, north; null for a layer without features.
    #[schema(nullable)]
    pub extent: Option<Vec<f64>>,
    pub updated: String,
    pub links: Vec<Link>,
    /// The job that wrote it.
    pub job: Option<String>,
    /// The upload report (layer reports only).
    #[schema(value_type = Option<Object>)]
    pub report: Option<Value>,
}

/// One rejected feature.
#[derive(ToSchema)]
pub struct Rejection {
    /// Position in the uploaded `features` array, from 0.
    pub index: u64,
    pub id: Option<String>,
    pub reason: String,
}

/// The answer to an upload: the stored layer and what was read.
#[derive(ToSchema)]
pub struct UploadReport {
    pub dataset: String,
    pub layer: String,
    pub collection: String,
    pub kind: String,
    pub source: LayerSource,
    pub features: u64,
    #[schema(nullable)]
    pub extent: Option<Vec<f64>>,
    pub updated: String,
    pub links: Vec<Link>,
    /// The CRS the coordinates were read in.
    pub crs: String,
    pub accepted: u64,
    pub rejected: u64,
    /// The first rejections (all counts are complete).
    pub rejections: Vec<Rejection>,
    pub rejections_truncated: Option<bool>,
    /// How often each default was applied.
    pub defaults: std::collections::BTreeMap<String, u64>,
    /// How often each repair was made.
    pub repairs: std::collections::BTreeMap<String, u64>,
    /// Properties present but not used.
    pub ignored: std::collections::BTreeMap<String, u64>,
}

/// A dataset in the list.
#[derive(ToSchema)]
pub struct DatasetSummary {
    pub name: String,
    pub layers: Vec<LayerInfo>,
    pub links: Vec<Link>,
}

/// The datasets a caller may see.
#[derive(ToSchema)]
pub struct Datasets {
    pub datasets: Vec<DatasetSummary>,
}

/// A job of a dataset.
#[derive(ToSchema)]
pub struct JobRef {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub created: String,
    pub url: String,
}

/// A dataset: its layers and jobs.
#[derive(ToSchema)]
pub struct Dataset {
    pub name: String,
    pub layers: Vec<LayerInfo>,
    pub jobs: Vec<JobRef>,
}

/// A layer a job wrote.
#[derive(ToSchema)]
pub struct JobResult {
    pub layer: String,
    /// `{dataset}.{layer}`, the collection to read.
    pub collection: String,
    pub href: String,
}

/// A page of jobs.
#[derive(ToSchema)]
#[allow(non_snake_case)]
pub struct Jobs {
    pub jobs: Vec<Job>,
    pub numberReturned: u64,
    pub links: Vec<Link>,
}

/// A job accepted.
#[derive(ToSchema)]
pub struct JobStarted {
    pub id: String,
    pub url: String,
    pub state: JobState,
}

/// The query of `GET /collections/{collectionId}/items`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ItemsQuery {
    /// Features per page (at least 1); more than the server's page maximum
    /// gets the maximum (OGC API – Features 1, 7.15.2).
    #[param(minimum = 1, default = 10)]
    pub limit: Option<u64>,
    /// Features to skip.
    #[param(minimum = 0, default = 0)]
    pub offset: Option<u64>,
    #[param(style = Form, explode = false)]
    pub bbox: Option<Bbox>,
    /// The CRS of `bbox` (default CRS84), one of the collection's `crs`
    /// list; its numbers are in that CRS's axis order (latitude first for
    /// EPSG:4326 and 4490, northing first for the Gauss-Krüger zones). A
    /// box of a projected CRS selects what meets it drawn in CRS84; one
    /// whose lower corner is above or right of its upper corner matches
    /// nothing (in CRS84 and EPSG:4326/4490, west above east crosses the
    /// antimeridian).
    #[param(rename = "bbox-crs")]
    pub bbox_crs: Option<CrsUri>,
    /// The CRS of the coordinates served (default CRS84), one of the
    /// collection's `crs` list, in its axis order; named in the
    /// `Content-Crs` header.
    pub crs: Option<CrsUri>,
    pub f: Option<Format>,
}

/// The query of `GET /collections/{collectionId}/items/{featureId}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ItemQuery {
    /// The CRS of the coordinates served (default CRS84), one of the
    /// collection's `crs` list, in its axis order; named in the
    /// `Content-Crs` header.
    pub crs: Option<CrsUri>,
    pub f: Option<Format>,
}

/// The query of `GET /api/v1/datasets/{dataset}/layers/{layer}`.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LayerQuery {
    /// The CRS of the coordinates served (default CRS84, the stored file as
    /// the command line writes it), as for items; named in the `Content-Crs`
    /// header.
    pub crs: Option<CrsUri>,
}

/// `f` alone.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FormatQuery {
    pub f: Option<Format>,
}

/// The query of an upload.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct UploadQuery {
    /// The CRS of the coordinates (default: the file's `crs` member, else CRS84).
    pub crs: Option<CrsName>,
    /// Refuse the whole layer (422) when any feature is rejected.
    pub strict: Option<Flag>,
    /// Property holding an area's code.
    #[param(default = "code")]
    pub code_field: Option<String>,
    /// Property holding an area's or site's name.
    #[param(default = "name")]
    pub name_field: Option<String>,
    /// Property holding an area's kind (urban or rural).
    #[param(default = "kind")]
    pub kind_field: Option<String>,
    /// Property holding a location's household count.
    #[param(default = "households")]
    pub households_field: Option<String>,
    /// Property holding a location's resident count.
    #[param(default = "persons")]
    pub persons_field: Option<String>,
    /// Property holding a feature's id.
    #[param(default = "id")]
    pub id_field: Option<String>,
    /// The body's file format, when neither its Content-Type nor its first
    /// bytes say it (a Shapefile comes zipped with its siblings).
    #[param(inline, value_type = Option<String>,
        pattern = "^(geojson|json|shapefile|shp|zip|gpkg|geopackage|csv|xlsx|xls|excel)$")]
    pub format: Option<String>,
    /// The text encoding of a Shapefile's attributes or a CSV list (default:
    /// the Shapefile's .cpg, else UTF-8).
    #[param(inline, value_type = Option<String>,
        pattern = "^(utf-?8|gbk|gb18030|gb2312|cp936|936|big5|cp950)$")]
    pub encoding: Option<String>,
    /// The layer of a GeoPackage to read (default: its only layer).
    pub layer_name: Option<String>,
    /// The longitude column of a CSV or Excel list (default: a column named
    /// lon, lng, longitude, x or 经度).
    pub lon_field: Option<String>,
    /// The latitude column of a CSV or Excel list (default: lat, latitude, y
    /// or 纬度).
    pub lat_field: Option<String>,
}

/// The query of a partition job.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct PartitionQuery {
    /// Update the dataset's grids with the smallest change (census update);
    /// needs a `grids` layer.
    pub update: Option<Flag>,
}

/// The query of the job list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct JobsQuery {
    /// Only this dataset's jobs.
    pub dataset: Option<DatasetName>,
    /// Jobs per page (at least 1); more than the maximum gets the maximum.
    #[param(minimum = 1, default = 100)]
    pub limit: Option<u64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<u64>,
}
