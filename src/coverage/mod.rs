//! coverage (under construction)
