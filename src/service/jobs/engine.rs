//! What a job computes with: its inputs (the dataset's stored layers, read
//! back into model types) and the [`Engine`] that turns them into layers,
//! whole or county shard by county shard.

use serde_json::Value;

use super::{JobError, JobKind, JobOutput};
use crate::layers::{AnyLayer, LayerKind, ReadOptions};
use crate::progress::Progress;
use crate::store::Store;

/// The inputs of a job: the dataset's stored layers, read back into model
/// types on demand.
pub struct Inputs<'a> {
    pub store: &'a dyn Store,
    pub dataset: &'a str,
}

impl Inputs<'_> {
    /// A stored layer as model types; `None` when the dataset has no such layer.
    pub fn layer(&self, kind: LayerKind) -> Result<Option<AnyLayer>, JobError> {
        let Some((_, features)) = self.store.features(self.dataset, kind.as_str())? else {
            return Ok(None);
        };
        Self::model_layer(kind, features)
    }

    /// The features of a stored layer that `filter` keeps, as model types;
    /// `None` when the dataset has no such layer or nothing passes.
    pub fn layer_where(
        &self,
        kind: LayerKind,
        filter: &crate::store::BoxFilter,
    ) -> Result<Option<AnyLayer>, JobError> {
        let Some(features) = self
            .store
            .features_where(self.dataset, kind.as_str(), filter)?
        else {
            return Ok(None);
        };
        Self::model_layer(kind, features)
    }

    fn model_layer(
        kind: LayerKind,
        features: Vec<crate::store::StoredFeature>,
    ) -> Result<Option<AnyLayer>, JobError> {
        let text = crate::service::engines::collection_text(&features);
        drop(features);
        match crate::layers::read_layer(kind, &text, &ReadOptions::default()) {
            Ok((layer, _)) => Ok(Some(layer)),
            Err(crate::layers::LayerError::Empty) => Ok(None),
            Err(e) => Err(JobError::Input {
                layer: kind,
                reason: e.to_string(),
            }),
        }
    }

    /// A layer the job needs.
    pub fn require(&self, kind: LayerKind) -> Result<AnyLayer, JobError> {
        self.layer(kind)?.ok_or(JobError::MissingLayer(kind))
    }
}

/// Runs the computation of a job. The service ships [`crate::service::engines::Builtin`];
/// tests plug in their own.
pub trait Engine: Send + Sync {
    fn run(
        &self,
        kind: JobKind,
        params: &Value,
        inputs: &Inputs<'_>,
        progress: &dyn Progress,
    ) -> Result<JobOutput, JobError>;

    /// The county shards a job is cut into on a store with a job queue, in
    /// order; `None` (the default) runs it whole, on one worker.
    fn shards(
        &self,
        _kind: JobKind,
        _params: &Value,
        _inputs: &Inputs<'_>,
    ) -> Result<Option<Vec<String>>, JobError> {
        Ok(None)
    }

    /// Runs one shard of a job [`Engine::shards`] cut; the result is kept as
    /// JSON in the store until every shard is done.
    fn run_shard(
        &self,
        kind: JobKind,
        _params: &Value,
        _inputs: &Inputs<'_>,
        _shard: &str,
        _progress: &dyn Progress,
    ) -> Result<Value, JobError> {
        Err(not_sharded(kind))
    }

    /// The job's output from its shards' results, in shard order: the same
    /// output [`Engine::run`] gives for the whole job.
    fn assemble(
        &self,
        kind: JobKind,
        _params: &Value,
        _inputs: &Inputs<'_>,
        _parts: Vec<Value>,
    ) -> Result<JobOutput, JobError> {
        Err(not_sharded(kind))
    }
}

/// The error of a shard step asked of a job kind its engine does not cut.
pub fn not_sharded(kind: JobKind) -> JobError {
    JobError::Invalid(format!("{} jobs are not cut into shards", kind.as_str()))
}
