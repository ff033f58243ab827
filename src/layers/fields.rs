//! Which property names carry which contract field, so a planner's own
//! attribute table (`adcode`, `pop` …) can be read without editing it.

use serde::{Deserialize, Serialize};

/// Property names for the contract fields. Defaults are the contract's names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FieldNames {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub households: String,
    pub persons: String,
    pub id: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            code: "code".into(),
            name: "name".into(),
            kind: "kind".into(),
            households: "households".into(),
            persons: "persons".into(),
            id: "id".into(),
        }
    }
}
