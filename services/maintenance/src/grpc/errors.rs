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
            MaintenanceError::AppointmentStep { .. } => Error::precondition("APPOINTMENT_NOT_BOOKED", message),
            MaintenanceError::AppointmentStarted => Error::precondition("APPOINTMENT_STARTED", message),
            MaintenanceError::AppointmentNotStarted => Error::precondition("APPOINTMENT_NOT_STARTED", message),
            MaintenanceError::PastCutoff => Error::precondition("PAST_CUTOFF", message),
            MaintenanceError::TooManyReschedules => Error::precondition("TOO_MANY_RESCHEDULES", message),
            MaintenanceError::SlotFull => Error::precondition("SLOT_FULL", message),
            MaintenanceError::AlreadyBooked => Error::precondition("ALREADY_BOOKED", message),
            MaintenanceError::ClaimClosed => Error::precondition("CLAIM_CLOSED", message),
            MaintenanceError::ClaimNotApproved => Error::precondition("CLAIM_NOT_APPROVED", message),
            MaintenanceError::ProductUnknown(_) => Error::precondition("PRODUCT_UNKNOWN", message),
            MaintenanceError::BookingsOffGrid(_) => Error::precondition("BOOKINGS_OFF_GRID", message),
            MaintenanceError::VisitBooked => Error::precondition("VISIT_BOOKED", message),
            MaintenanceError::SnoozeOutOfRange => Error::invalid("until", message),
            MaintenanceError::TooManySnoozes => Error::precondition("TOO_MANY_SNOOZES", message),
            MaintenanceError::Dismissed => Error::precondition("DISMISSED", message),
            MaintenanceError::ReminderStale => Error::precondition("REMINDER_STALE", message),
            MaintenanceError::Corrupt(_) => Error::internal(message),
        }
    }
}
