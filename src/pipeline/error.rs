//! What can stop a run, and whose fault it is (the binary picks the exit code from that).

use crate::sources::headers::MappingError;
use crate::sources::SourceError;
use crate::store::StoreError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("pipeline file {path}: not found")]
    NotFound { path: PathBuf },
    /// One or more problems, one per line.
    #[error("pipeline file {path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// What can stop a run. Every variant but `Store` and `Internal` is the input's fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("source {source_name:?}: {error}")]
    Mapping {
        source_name: String,
        error: MappingError,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stages asked for that make no sense together (`--from warmth --to dedupe`).
    #[error("{0}")]
    Stages(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl RunError {
    /// True when the user can fix it by changing the input or the pipeline file.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            RunError::Pipeline(_)
                | RunError::Source(_)
                | RunError::Mapping { .. }
                | RunError::Stages(_)
        )
    }

    pub fn is_missing_input(&self) -> bool {
        matches!(
            self,
            RunError::Pipeline(PipelineError::NotFound { .. })
                | RunError::Source(SourceError::NotFound { .. })
        )
    }
}
