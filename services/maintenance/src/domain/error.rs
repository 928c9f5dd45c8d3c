//! What can go wrong in maintenance. The API edge maps each variant to a
//! gRPC status and a stable `ErrorInfo` reason, in one place.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MaintenanceError {
    #[error("{what} {id:?} not found")]
    NotFound { what: &'static str, id: String },
    #[error("the schedule has ended")]
    ScheduleEnded,
    #[error("a service on that day is recorded already")]
    AlreadyRecorded,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl MaintenanceError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> MaintenanceError {
        MaintenanceError::NotFound { what, id: id.into() }
    }
}
