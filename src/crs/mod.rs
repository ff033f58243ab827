//! crs (under construction)
