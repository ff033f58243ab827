//! Coordinate reference systems (placeholder until the full module lands:
//! WGS84 only).

use std::fmt;

/// Why a CRS cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CrsError {
    #[error("unknown CRS {0:?}")]
    Unknown(String),
}

/// A CRS wangge can read.
#[derive(Debug, Clone, PartialEq)]
pub enum Crs {
    Wgs84,
}

impl Crs {
    pub fn parse(s: &str) -> Result<Crs, CrsError> {
        match s.to_ascii_uppercase().as_str() {
            "CRS84" | "EPSG:4326" | "URN:OGC:DEF:CRS:OGC:1.3:CRS84" => Ok(Crs::Wgs84),
            _ => Err(CrsError::Unknown(s.into())),
        }
    }
    pub fn to_wgs84(&self) -> Result<ToWgs84, CrsError> {
        Ok(ToWgs84)
    }
}

impl fmt::Display for Crs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CRS84")
    }
}

pub struct ToWgs84;
impl ToWgs84 {
    pub fn convert(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        Ok((x, y))
    }
}
