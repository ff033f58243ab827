//! Size and population rules for service grids.

use serde::{Deserialize, Serialize};

use super::AreaKind;

/// The rules one grid must meet. Missing bounds are not checked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    pub min_households: u64,
    pub max_households: u64,
    /// Households a grid should aim for; the middle of the bounds when absent.
    #[serde(default)]
    pub target_households: Option<u64>,
    #[serde(default)]
    pub max_persons: Option<u64>,
    #[serde(default)]
    pub max_area_m2: Option<f64>,
}

/// Why a rules document cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RulesError {
    #[error("min_households ({min}) is greater than max_households ({max})")]
    MinAboveMax { min: u64, max: u64 },
    #[error("max_households must be at least 1")]
    ZeroMax,
    #[error("target_households ({target}) is outside [{min}, {max}]")]
    TargetOutside { target: u64, min: u64, max: u64 },
    #[error("{field} must be a positive finite number")]
    NotPositive { field: &'static str },
    #[error("{field} must be between 1 and {max}, got {value}")]
    OutOfRange {
        field: &'static str,
        value: u64,
        max: u64,
    },
}

/// Largest `max_households` a rules document may ask for (a grid of a million
/// households is a whole city: a mistake, not a grid).
pub const MAX_HOUSEHOLDS: u64 = 1_000_000;
/// Largest `max_persons`.
pub const MAX_PERSONS: u64 = 10_000_000;

impl Rules {
    /// Urban comprehensive grids: 300–500 households, at most 2,500 residents.
    pub const URBAN: Rules = Rules {
        min_households: 300,
        max_households: 500,
        target_households: None,
        max_persons: Some(2500),
        max_area_m2: None,
    };

    /// Rural grids: 150–400 households, aiming at about 300, at most 2,500 residents.
    pub const RURAL: Rules = Rules {
        min_households: 150,
        max_households: 400,
        target_households: Some(300),
        max_persons: Some(2500),
        max_area_m2: None,
    };

    /// The built-in preset for an area kind.
    pub fn preset(kind: AreaKind) -> Rules {
        match kind {
            AreaKind::Urban => Rules::URBAN,
            AreaKind::Rural => Rules::RURAL,
        }
    }

    /// Households a grid should aim for.
    pub fn target(&self) -> u64 {
        self.target_households
            .unwrap_or((self.min_households + self.max_households) / 2)
    }

    /// Checks that the bounds make sense together.
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.max_households == 0 {
            return Err(RulesError::ZeroMax);
        }
        if self.max_households > MAX_HOUSEHOLDS {
            return Err(RulesError::OutOfRange {
                field: "max_households",
                value: self.max_households,
                max: MAX_HOUSEHOLDS,
            });
        }
        if let Some(p) = self.max_persons {
            if !(1..=MAX_PERSONS).contains(&p) {
                return Err(RulesError::OutOfRange {
                    field: "max_persons",
                    value: p,
                    max: MAX_PERSONS,
                });
            }
        }
        if self.min_households > self.max_households {
            return Err(RulesError::MinAboveMax {
                min: self.min_households,
                max: self.max_households,
            });
        }
        if let Some(t) = self.target_households {
            if t < self.min_households || t > self.max_households {
                return Err(RulesError::TargetOutside {
                    target: t,
                    min: self.min_households,
                    max: self.max_households,
                });
            }
        }
        if let Some(a) = self.max_area_m2 {
            if !(a.is_finite() && a > 0.0) {
                return Err(RulesError::NotPositive {
                    field: "max_area_m2",
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_differ() {
        assert!(Rules::URBAN.validate().is_ok());
        assert!(Rules::RURAL.validate().is_ok());
        assert_eq!(Rules::URBAN.target(), 400);
        assert_eq!(Rules::RURAL.target(), 300);
    }

    #[test]
    fn contract_document_parses_and_unknown_fields_are_refused() {
        let r: Rules = serde_json::from_str(
            r#"{ "min_households": 300, "max_households": 500, "max_persons": 2500, "max_area_m2": null }"#,
        )
        .unwrap();
        assert_eq!(r.max_persons, Some(2500));
        assert!(serde_json::from_str::<Rules>(
            r#"{"min_households":1,"max_households":2,"colour":1}"#
        )
        .is_err());
        let bad = Rules {
            min_households: 600,
            ..Rules::URBAN
        };
        assert_eq!(
            bad.validate(),
            Err(RulesError::MinAboveMax { min: 600, max: 500 })
        );
    }
}
