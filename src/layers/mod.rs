//! layers (under construction)
