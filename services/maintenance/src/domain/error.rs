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
    #[error("a {status} appointment cannot {step}")]
    AppointmentStep {
        status: super::AppointmentStatus,
        step: &'static str,
    },
    #[error("the appointment has started")]
    AppointmentStarted,
    #[error("the appointment has not started yet")]
    AppointmentNotStarted,
    #[error("the appointment's cut-off has passed: cancel it (late) and book again")]
    PastCutoff,
    #[error("an appointment may be moved {} times at most", super::appointment::MAX_RESCHEDULES)]
    TooManyReschedules,
    #[error("the slot has no seat left")]
    SlotFull,
    #[error("a visit is booked for it already")]
    AlreadyBooked,
    #[error("the claim is closed: no visit can be booked for it")]
    ClaimClosed,
    #[error("the claim is not approved yet: a visit is booked once it is")]
    ClaimNotApproved,
    #[error("the claim's product {0} is not known to maintenance yet")]
    ProductUnknown(String),
    #[error("a visit booked at {0} would no longer be on one of the centre's slots")]
    BookingsOffGrid(String),
    #[error("the occurrence has a booked visit: cancel it first")]
    VisitBooked,
    #[error("a snooze ends after now and within {} days", super::schedule::MAX_SNOOZE_DAYS)]
    SnoozeOutOfRange,
    #[error(
        "an occurrence's reminders may be snoozed {} times at most",
        super::schedule::MAX_SNOOZES
    )]
    TooManySnoozes,
    #[error("the occurrence's reminders were dismissed")]
    Dismissed,
    #[error("the reminder is of an occurrence that is over")]
    ReminderStale,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl MaintenanceError {
    pub fn not_found(what: &'static str, id: impl Into<String>) -> MaintenanceError {
        MaintenanceError::NotFound { what, id: id.into() }
    }
}
