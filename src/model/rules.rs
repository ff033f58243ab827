//! Size and population rules for service grids, and which rules hold in
//! which area: an area's own override, else the job's rules, else the
//! preset of the area's kind ([`AreaRules::resolve`]).

use std::collections::BTreeMap;

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
    /// One area's override is unusable: what is wrong, naming the area.
    #[error("area {code}: {reason}")]
    Area {
        code: String,
        reason: Box<RulesError>,
    },
    #[error("rules are given for {count} areas; at most {max} may have rules of their own")]
    TooManyAreas { count: usize, max: usize },
}

impl RulesError {
    /// True when each value is in its range but they contradict one another
    /// (minimum above maximum, target outside them), in an override too.
    pub fn is_contradiction(&self) -> bool {
        match self {
            RulesError::MinAboveMax { .. } | RulesError::TargetOutside { .. } => true,
            RulesError::Area { reason, .. } => reason.is_contradiction(),
            _ => false,
        }
    }
}

/// Largest `max_households` a rules document may ask for (a grid of a million
/// households is a whole city: a mistake, not a grid).
pub const MAX_HOUSEHOLDS: u64 = 1_000_000;
/// Largest `max_persons`.
pub const MAX_PERSONS: u64 = 10_000_000;
/// Most areas one job may give rules of their own (more than the villages
/// and communities of a province; each costs a map entry, nothing more).
pub const MAX_AREA_RULES: usize = 100_000;

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

/// Rules of their own for some areas, by area code. An override is a whole
/// rules document: it replaces the job's rules (or the preset) for that
/// area, and a bound it leaves out is not checked there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AreaRules(BTreeMap<String, Rules>);

impl AreaRules {
    /// The rules the grids of area `code` (of `kind`) are held to: its own,
    /// else `rules` (the job's, for every area), else the kind's preset.
    pub fn resolve(&self, code: &str, kind: AreaKind, rules: Option<Rules>) -> Rules {
        self.0
            .get(code)
            .copied()
            .or(rules)
            .unwrap_or_else(|| Rules::preset(kind))
    }

    /// Checks every override as a rules document, naming the area of the
    /// first that is unusable (in code order, so the answer is stable).
    pub fn validate(&self) -> Result<(), RulesError> {
        if self.0.len() > MAX_AREA_RULES {
            return Err(RulesError::TooManyAreas {
                count: self.0.len(),
                max: MAX_AREA_RULES,
            });
        }
        for (code, r) in &self.0 {
            r.validate().map_err(|e| RulesError::Area {
                code: code.clone(),
                reason: Box::new(e),
            })?;
        }
        Ok(())
    }

    /// Codes given rules that are not among `known` (the areas' codes), in
    /// code order: an override nobody can use is a mistake worth naming.
    pub fn unknown_codes<'a>(&self, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        let known: std::collections::HashSet<&str> = known.into_iter().collect();
        self.0
            .keys()
            .filter(|c| !known.contains(c.as_str()))
            .cloned()
            .collect()
    }

    /// The overrides of the areas in `codes` only.
    pub fn only<'a>(&self, codes: impl IntoIterator<Item = &'a str>) -> AreaRules {
        AreaRules(
            codes
                .into_iter()
                .filter_map(|c| self.0.get(c).map(|r| (c.to_string(), *r)))
                .collect(),
        )
    }

    pub fn get(&self, code: &str) -> Option<&Rules> {
        self.0.get(code)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Rules)> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, Rules)> for AreaRules {
    fn from_iter<I: IntoIterator<Item = (String, Rules)>>(iter: I) -> Self {
        AreaRules(iter.into_iter().collect())
    }
}

/// Codes for a message: the first `shown`, then how many more.
pub fn list_codes(codes: &[String], shown: usize) -> String {
    let mut s = codes
        .iter()
        .take(shown)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if codes.len() > shown {
        s.push_str(&format!(" and {} more", codes.len() - shown));
    }
    s
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

    #[test]
    fn an_override_wins_then_the_job_rules_then_the_preset() {
        let narrow = Rules {
            min_households: 100,
            max_households: 200,
            target_households: None,
            max_persons: None,
            max_area_m2: None,
        };
        let o: AreaRules = [("A".to_string(), narrow)].into_iter().collect();
        assert_eq!(o.resolve("A", AreaKind::Rural, Some(Rules::URBAN)), narrow);
        assert_eq!(
            o.resolve("B", AreaKind::Rural, Some(Rules::URBAN)),
            Rules::URBAN
        );
        assert_eq!(o.resolve("B", AreaKind::Rural, None), Rules::RURAL);
        assert_eq!(o.unknown_codes(["B", "C"]), vec!["A".to_string()]);
        assert!(o.unknown_codes(["A"]).is_empty());
    }

    #[test]
    fn a_bad_override_names_its_area() {
        let o: AreaRules = serde_json::from_str(
            r#"{"X1": {"min_households": 10, "max_households": 20},
                "X2": {"min_households": 30, "max_households": 20}}"#,
        )
        .unwrap();
        let e = o.validate().unwrap_err();
        assert!(e.is_contradiction());
        assert_eq!(
            e.to_string(),
            "area X2: min_households (30) is greater than max_households (20)"
        );
        let zero: AreaRules =
            serde_json::from_str(r#"{"X3": {"min_households": 0, "max_households": 0}}"#).unwrap();
        let e = zero.validate().unwrap_err();
        assert!(!e.is_contradiction());
        assert_eq!(e.to_string(), "area X3: max_households must be at least 1");
        assert!(serde_json::from_str::<AreaRules>(
            r#"{"X": {"min_households": 1, "max_households": 2, "locked": []}}"#
        )
        .is_err());
        assert_eq!(
            list_codes(&["a".into(), "b".into(), "c".into()], 2),
            "a, b and 1 more"
        );
    }
}
