//! Progress reporting and cancellation for long computations.
//!
//! Engines call [`Progress::report`] at stage boundaries and check
//! [`Progress::cancelled`] between units of work, so the command line can draw a
//! progress bar and the service can show job progress and stop a cancelled job.

/// Receives progress from a long computation. Implementations must be cheap and
/// thread-safe: engines call them from rayon workers.
pub trait Progress: Sync {
    /// `stage` names the step; `fraction` is the overall share done, 0–1.
    fn report(&self, stage: &str, fraction: f64);
    /// True when the caller wants the computation to stop early.
    fn cancelled(&self) -> bool {
        false
    }
}

/// Progress that goes nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn report(&self, _stage: &str, _fraction: f64) {}
}
