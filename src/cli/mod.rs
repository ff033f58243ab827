//! Commands of the `wangge` binary that have a file of their own: the
//! coverage and siting commands, and the service.

pub(crate) mod coverage;
pub(crate) mod serve;
