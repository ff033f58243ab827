//! Commands of the `wangge` binary that have a file of their own: the
//! coverage and siting commands, the service, the queue worker, and the options for file
//! formats.

pub(crate) mod coverage;
pub(crate) mod formats;
pub(crate) mod serve;
pub(crate) mod worker;
