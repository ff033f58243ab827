//! What a job computes with: its inputs (the dataset's stored layers, read
//! back into model types) and the [`Engine`] that turns them into layers,
//! whole or county shard by county shard.

use serde_json::Value;

use super::{JobError, JobKind, JobOutput};
use crate::layers::{AnyLayer, LayerKind, LayerReport, ReadOptions};
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
        let text = crate::service::engines::collection_text(&features);
        drop(features);
        Ok(Self::read(kind, &text)?.map(|(layer, _)| layer))
    }

    /// The features of a stored layer that `filter` keeps, as model types
    /// with their positions in the layer; `None` when the dataset has no
    /// such layer or nothing passes.
    pub fn layer_where(
        &self,
        kind: LayerKind,
        filter: &crate::store::BoxFilter,
    ) -> Result<Option<LayerPart>, JobError> {
        let Some(placed) = self
            .store
            .features_where(self.dataset, kind.as_str(), filter)?
        else {
            return Ok(None);
        };
        let text = crate::service::engines::collection_text(placed.iter().map(|p| &p.feature));
        let Some((layer, report)) = Self::read(kind, &text)? else {
            return Ok(None);
        };
        // Stored features were accepted once; one rejected now would shift
        // the positions of every one after it.
        if report.accepted != placed.len() {
            return Err(JobError::Input {
                layer: kind,
                reason: format!(
                    "{} of {} stored features are no longer readable",
                    placed.len() - report.accepted,
                    placed.len()
                ),
            });
        }
        Ok(Some(LayerPart {
            positions: placed.iter().map(|p| p.position).collect(),
            layer,
        }))
    }

    /// A layer's text as model types; `None` when it has no features.
    fn read(kind: LayerKind, text: &str) -> Result<Option<(AnyLayer, LayerReport)>, JobError> {
        match crate::layers::read_layer(kind, text, &ReadOptions::default()) {
            Ok(read) => Ok(Some(read)),
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

/// Part of a stored layer ([`Inputs::layer_where`]): the model values and,
/// in the same order, the position in the layer of the feature each came from.
pub struct LayerPart {
    pub positions: Vec<usize>,
    pub layer: AnyLayer,
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
