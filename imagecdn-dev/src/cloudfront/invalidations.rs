//! CloudFront invalidations with the documented semantics (CreateInvalidation in the
//! CloudFront API reference, "Invalidating files" in the developer guide):
//!
//! - `CallerReference` makes creation idempotent: the same reference with the same paths
//!   returns the earlier invalidation; with other paths, `InvalidationBatchAlreadyExists`.
//! - At most 3,000 paths and 15 wildcard paths may be in progress per distribution
//!   (`TooManyInvalidationsInProgress`).
//! - Every cache layer forgets the paths (here at creation); the invalidation reports
//!   `InProgress` for a while, then `Completed`.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// CloudFront's in-progress limits per distribution.
pub const MAX_PATHS_IN_PROGRESS: usize = 3000;
pub const MAX_WILDCARDS_IN_PROGRESS: usize = 15;

#[derive(Clone, Debug, PartialEq)]
pub struct Invalidation {
    pub id: String,
    pub caller_reference: String,
    pub paths: Vec<String>,
    /// RFC 3339.
    pub create_time: String,
    created: Instant,
}

impl Invalidation {
    pub fn status(&self, in_progress_for: Duration) -> &'static str {
        if self.created.elapsed() < in_progress_for {
            "InProgress"
        } else {
            "Completed"
        }
    }
}

/// API errors, by CloudFront's error code.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidationError {
    #[error("InvalidArgument: {0}")]
    InvalidArgument(String),
    #[error("InvalidationBatchAlreadyExists: caller reference {0} was used with other paths")]
    BatchAlreadyExists(String),
    #[error("TooManyInvalidationsInProgress: {0}")]
    TooManyInProgress(String),
}

impl InvalidationError {
    pub fn code(&self) -> &'static str {
        match self {
            InvalidationError::InvalidArgument(_) => "InvalidArgument",
            InvalidationError::BatchAlreadyExists(_) => "InvalidationBatchAlreadyExists",
            InvalidationError::TooManyInProgress(_) => "TooManyInvalidationsInProgress",
        }
    }
    pub fn status(&self) -> u16 {
        match self {
            InvalidationError::BatchAlreadyExists(_) => 409,
            _ => 400,
        }
    }
}

/// The invalidations of one distribution.
pub struct Invalidations {
    all: Mutex<Vec<Invalidation>>,
    pub in_progress_for: Duration,
}

fn rfc3339_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    aws_sdk_s3::primitives::DateTime::from_secs(secs as i64)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}

impl Invalidations {
    pub fn new(in_progress_for: Duration) -> Invalidations {
        Invalidations {
            all: Mutex::default(),
            in_progress_for,
        }
    }

    /// Creates (or, for a repeated caller reference with the same paths, returns) an
    /// invalidation. `true` when it is new: the caller then empties its caches.
    pub fn create(
        &self,
        caller_reference: &str,
        paths: &[String],
    ) -> Result<(Invalidation, bool), InvalidationError> {
        if caller_reference.is_empty() {
            return Err(InvalidationError::InvalidArgument(
                "CallerReference is required".into(),
            ));
        }
        if paths.is_empty() {
            return Err(InvalidationError::InvalidArgument(
                "Paths must not be empty".into(),
            ));
        }
        if let Some(p) = paths.iter().find(|p| !p.starts_with('/')) {
            return Err(InvalidationError::InvalidArgument(format!(
                "path {p:?} must start with /"
            )));
        }
        let mut all = self.all.lock().expect("invalidations lock");
        if let Some(existing) = all.iter().find(|i| i.caller_reference == caller_reference) {
            return if existing.paths == paths {
                Ok((existing.clone(), false))
            } else {
                Err(InvalidationError::BatchAlreadyExists(
                    caller_reference.to_string(),
                ))
            };
        }
        let in_progress: Vec<&Invalidation> = all
            .iter()
            .filter(|i| i.status(self.in_progress_for) == "InProgress")
            .collect();
        let paths_in_progress: usize = in_progress.iter().map(|i| i.paths.len()).sum();
        let wildcards_in_progress: usize = in_progress
            .iter()
            .map(|i| i.paths.iter().filter(|p| p.ends_with('*')).count())
            .sum();
        let wildcards = paths.iter().filter(|p| p.ends_with('*')).count();
        if paths_in_progress + paths.len() > MAX_PATHS_IN_PROGRESS {
            return Err(InvalidationError::TooManyInProgress(format!(
                "{paths_in_progress} paths in progress, {} more would exceed {MAX_PATHS_IN_PROGRESS}",
                paths.len()
            )));
        }
        if wildcards_in_progress + wildcards > MAX_WILDCARDS_IN_PROGRESS {
            return Err(InvalidationError::TooManyInProgress(format!(
                "{wildcards_in_progress} wildcard paths in progress, {wildcards} more would exceed {MAX_WILDCARDS_IN_PROGRESS}"
            )));
        }
        let invalidation = Invalidation {
            id: format!("I{:013}", all.len() + 1),
            caller_reference: caller_reference.to_string(),
            paths: paths.to_vec(),
            create_time: rfc3339_now(),
            created: Instant::now(),
        };
        all.push(invalidation.clone());
        Ok((invalidation, true))
    }

    pub fn get(&self, id: &str) -> Option<Invalidation> {
        self.all
            .lock()
            .expect("invalidations lock")
            .iter()
            .find(|i| i.id == id)
            .cloned()
    }

    /// Newest first, as ListInvalidations returns them.
    pub fn list(&self) -> Vec<Invalidation> {
        self.all
            .lock()
            .expect("invalidations lock")
            .iter()
            .rev()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caller_references_are_idempotent_keys() {
        let inv = Invalidations::new(Duration::from_secs(60));
        let paths = vec!["/shop/a.jpg".to_string()];
        let (first, new) = inv.create("r1", &paths).unwrap();
        assert!(new);
        let (again, new) = inv.create("r1", &paths).unwrap();
        assert!(!new);
        assert_eq!(again.id, first.id);
        assert_eq!(
            inv.create("r1", &["/shop/b.jpg".to_string()]),
            Err(InvalidationError::BatchAlreadyExists("r1".into()))
        );
        assert_eq!(inv.list().len(), 1);
        assert_eq!(first.status(Duration::from_secs(60)), "InProgress");
        assert_eq!(first.status(Duration::ZERO), "Completed");
        assert!(first.create_time.ends_with('Z') && first.create_time.len() == 20);
    }

    #[test]
    fn in_progress_limits_hold() {
        let inv = Invalidations::new(Duration::from_secs(60));
        let wild: Vec<String> = (0..15).map(|i| format!("/w{i}/*")).collect();
        inv.create("a", &wild).unwrap();
        assert!(matches!(
            inv.create("b", &["/x/*".into()]),
            Err(InvalidationError::TooManyInProgress(_))
        ));
        let many: Vec<String> = (0..2985).map(|i| format!("/p{i}")).collect();
        inv.create("c", &many).unwrap();
        assert!(matches!(
            inv.create("d", &["/one".into()]),
            Err(InvalidationError::TooManyInProgress(_))
        ));
        assert!(matches!(
            inv.create("", &["/x".into()]),
            Err(InvalidationError::InvalidArgument(_))
        ));
        assert!(matches!(
            inv.create("e", &["x".into()]),
            Err(InvalidationError::InvalidArgument(_))
        ));
    }
}
