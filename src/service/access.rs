//! Who may read and write what: the one place that decides.
//!
//! Every layer name the service stores has an access [`Class`] in
//! [`LAYER_CLASSES`]; a layer name missing from that table (a result kind added
//! later, a layer written by a newer engine) is private, planners only, until
//! someone classes it here. A [`Caller`] is a role and a dataset [`Scope`];
//! every handler asks the caller before it touches the store, so a refusal
//! says nothing about whether the thing asked for exists:
//!
//! - [`Caller::require_read`]: items, single features, collections, whole-layer
//!   downloads, layer reports (and any later way of reading a layer);
//! - [`Caller::can_read`]: what listings (collections, datasets, job results)
//!   may name;
//! - [`Caller::require_dataset`] / [`Caller::sees_dataset`]: a dataset and its
//!   jobs;
//! - [`Caller::require_write`]: uploads, deletions, jobs and adoptions.
//!
//! Vector tiles are a way of reading a layer: they take the layer's class
//! (`require_read`), so a viewer gets no household tile. The list of a
//! dataset's adoptions (version, role, time, grid count) is public within
//! the token's scope (`require_dataset`), like the grids it describes.

use std::sync::Arc;

use super::error::ServiceError;

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every layer, writes, starts and cancels jobs.
    Planner,
    /// Reads [`Class::Public`] layers and jobs; never writes.
    Viewer,
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "planner" => Ok(Role::Planner),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!(
                "unknown role {other:?} (expected planner or viewer)"
            )),
        }
    }
}

/// How much a layer tells about people and equipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Household locations and anything per household: personal data
    /// (planners only).
    Personal,
    /// Camera inventories with their properties (addresses, stream URLs,
    /// orientation), building footprints, candidate camera sites: what would
    /// help someone avoid or attack the camera network (planners only).
    Sensitive,
    /// Aggregates and public geography, what every map client sees: grids and
    /// their changes, coverage per area or grid, blind spots, proposals, key
    /// sites with their coverage, village boundaries, roads and rivers.
    Public,
}

impl Class {
    fn why_private(self, layer: &str) -> String {
        match self {
            Class::Personal => {
                format!("the {layer} layer holds household-level (personal) data: planners only")
            }
            Class::Sensitive => format!(
                "the {layer} layer holds camera, building or candidate-site details: planners only"
            ),
            Class::Public => String::new(),
        }
    }
}

/// Every layer name the service stores, with its class. The uploaded layers
/// are the [`crate::layers::LayerKind`]s and `grids` (adopted grids); the
/// results are what the jobs write (`service::engines`). A name not listed is
/// private until it is added here.
pub const LAYER_CLASSES: [(&str, Class); 16] = [
    // Uploaded.
    ("households", Class::Personal),
    ("cameras", Class::Sensitive),
    ("buildings", Class::Sensitive),
    ("candidates", Class::Sensitive),
    ("areas", Class::Public),
    ("barriers", Class::Public),
    ("sites", Class::Public),
    // Uploaded (adopted) or computed by partition.
    ("grids", Class::Public),
    // Adopted (POST …/adoptions copies a grids proposal here); census
    // updates start from it.
    ("adopted_grids", Class::Public),
    // Partition with update=true: per grid, the counts before and after.
    ("grid_changes", Class::Public),
    // Coverage.
    ("coverage_households", Class::Personal),
    ("coverage_cameras", Class::Sensitive),
    ("coverage", Class::Public),
    ("gaps", Class::Public),
    ("coverage_sites", Class::Public),
    // Propose.
    ("proposals", Class::Public),
];

/// The class of a layer name; `None` for a name nobody has classed yet.
pub fn class_of(layer: &str) -> Option<Class> {
    LAYER_CLASSES
        .iter()
        .find(|(name, _)| *name == layer)
        .map(|(_, class)| *class)
}

/// The datasets a token reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every dataset (a token without a dataset list, or no tokens at all).
    All,
    /// Only these datasets (a township's token sees its own).
    Datasets(Arc<[String]>),
}

impl Scope {
    pub fn contains(&self, dataset: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Datasets(list) => list.iter().any(|d| d == dataset),
        }
    }
}

/// The authenticated caller of a request: a role within a scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub scope: Scope,
}

impl Caller {
    /// The caller of a server with no tokens configured (loopback only).
    pub fn local() -> Caller {
        Caller {
            role: Role::Planner,
            scope: Scope::All,
        }
    }

    /// May this caller see `dataset` at all (its name, layers and jobs)?
    pub fn sees_dataset(&self, dataset: &str) -> bool {
        self.scope.contains(dataset)
    }

    /// May this caller read layer `layer` of `dataset`?
    pub fn can_read(&self, dataset: &str, layer: &str) -> bool {
        self.sees_dataset(dataset)
            && (self.role == Role::Planner || class_of(layer) == Some(Class::Public))
    }

    /// Refuses a dataset outside the token's scope, whether it exists or not.
    pub fn require_dataset(&self, dataset: &str) -> Result<(), ServiceError> {
        match &self.scope {
            Scope::All => Ok(()),
            Scope::Datasets(list) if list.iter().any(|d| d == dataset) => Ok(()),
            Scope::Datasets(list) => Err(ServiceError::Forbidden(format!(
                "this token reaches only the dataset(s) {}",
                list.join(", ")
            ))),
        }
    }

    /// Refuses reading a layer the caller may not read, before anyone looks
    /// whether it exists.
    pub fn require_read(&self, dataset: &str, layer: &str) -> Result<(), ServiceError> {
        self.require_dataset(dataset)?;
        if self.role == Role::Planner {
            return Ok(());
        }
        match class_of(layer) {
            Some(Class::Public) => Ok(()),
            Some(class) => Err(ServiceError::Forbidden(class.why_private(layer))),
            None => Err(ServiceError::Forbidden(format!(
                "the {layer} layer has no access class: planners only"
            ))),
        }
    }

    /// Writing is for planners, within their scope.
    pub fn require_write(&self, dataset: &str) -> Result<(), ServiceError> {
        self.require_planner()?;
        self.require_dataset(dataset)
    }

    pub fn require_planner(&self) -> Result<(), ServiceError> {
        match self.role {
            Role::Planner => Ok(()),
            Role::Viewer => Err(ServiceError::Forbidden(
                "this needs the planner role; viewers can only read".into(),
            )),
        }
    }

    /// A job of another dataset is answered as missing: its id tells nothing.
    pub fn require_job(&self, dataset: &str, id: &str) -> Result<(), ServiceError> {
        if self.sees_dataset(dataset) {
            Ok(())
        } else {
            Err(ServiceError::NotFound(format!("no job {id:?}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn viewer_of(datasets: &[&str]) -> Caller {
        Caller {
            role: Role::Viewer,
            scope: Scope::Datasets(datasets.iter().map(|d| d.to_string()).collect()),
        }
    }

    #[test]
    fn every_layer_kind_the_service_writes_is_classed() {
        for kind in crate::layers::LayerKind::ALL {
            assert!(class_of(kind.as_str()).is_some(), "{kind} has no class");
        }
        let mut names: Vec<&str> = LAYER_CLASSES.iter().map(|(n, _)| *n).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LAYER_CLASSES.len(), "a layer is classed twice");
    }

    #[test]
    fn viewers_read_public_layers_only_and_unclassed_layers_are_private() {
        let v = viewer_of(&["langya"]);
        assert!(v.can_read("langya", "grids"));
        assert!(!v.can_read("langya", "households"));
        assert!(!v.can_read("langya", "coverage_cameras"));
        assert!(!v.can_read("langya", "heatmap"));
        assert!(!v.can_read("nanqiao", "grids"));
        let e = v.require_read("langya", "heatmap").unwrap_err().to_string();
        assert!(e.contains("no access class"), "{e}");
        let e = v.require_read("nanqiao", "grids").unwrap_err().to_string();
        assert!(e.contains("langya") && !e.contains("nanqiao"), "{e}");
        let p = Caller::local();
        assert!(p.can_read("any", "heatmap") && p.require_write("any").is_ok());
        assert!(v.require_write("langya").is_err());
        assert!(v.require_job("nanqiao", "j1").is_err() && v.require_job("langya", "j1").is_ok());
    }
}
