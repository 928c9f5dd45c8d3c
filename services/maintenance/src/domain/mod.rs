//! Maintenance's rules, free of transport and storage: when a task falls
//! due ([`recurrence`]: calendar months without drift, fixed or
//! completion-anchored, meter thresholds), when a customer may be contacted
//! ([`timing`]: local time, quiet and preferred hours, daylight saving),
//! which reminders an occurrence gets ([`reminder`]) and what they say
//! ([`message`]), plans ([`plan`]),
//! schedules ([`schedule`]), and centres' slots and visits ([`appointment`]).

pub mod appointment;
pub mod error;
pub mod message;
pub mod plan;
pub mod recurrence;
pub mod reminder;
pub mod schedule;
/// Contact hours are the kernel's: other services time their messages by them too.
pub use aftercare_kernel::contact_hours as timing;

pub use appointment::{Appointment, AppointmentStatus, Centre, Opening, VisitFor};
pub use error::MaintenanceError;
pub use plan::{Plan, Task, Usage};
pub use recurrence::{Anchor, Interval, Recurrence, UsageThreshold};
pub use reminder::{ReminderKind, ReminderRule};
pub use schedule::{Product, Reach, Schedule, Summary};
pub use timing::{ContactHours, DailySpan};

aftercare_kernel::uuid_id!(
    /// One product's maintenance task.
    ScheduleId
);
aftercare_kernel::uuid_id!(
    /// A visit booked at a service centre.
    AppointmentId
);
aftercare_kernel::uuid_id!(
    /// A reminder sent: the id the app acts on, the notifier's dedupe key.
    ReminderId
);

pub const MAX_ID_LEN: usize = 128;
pub const MAX_NOTE_LEN: usize = 2000;
