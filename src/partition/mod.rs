//! partition (under construction)
