//! Maintenance errors as gRPC statuses, in one place.

use aftercare_platform::error::Error;

use crate::domain::MaintenanceError;

impl From<MaintenanceError> for Error {
    fn from(e: MaintenanceError) -> Error {
        let message = e.to_string();
        match e {
            MaintenanceError::NotFound { .. } => Error::NotFound(message),
            MaintenanceError::ScheduleEnded => Error::precondition("SCHEDULE_ENDED", message),
            MaintenanceError::AlreadyRecorded => Error::precondition("ALREADY_RECORDED", message),
            MaintenanceError::Corrupt(_) => Error::internal(message),
        }
    }
}
