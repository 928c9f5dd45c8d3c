//! Maintenance plans: per category (or SKU override), versioned like
//! warranty terms; each task with its interval, anchoring and reminders.

use aftercare_kernel::{DateTime, Utc};

use super::recurrence::{Anchor, Interval, UsageThreshold};
use super::reminder::ReminderRule;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub task_id: String,
    pub name: String,
    pub interval: Interval,
    pub anchor: Anchor,
    pub reminders: ReminderRule,
    /// Also due when this meter has run this far since the occurrence
    /// began, whichever comes first.
    pub usage: Option<Usage>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usage {
    /// "hours", "cycles", "km", ...
    pub meter: String,
    pub threshold: UsageThreshold,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// "" for every category.
    pub category: String,
    /// "" for the category's own plan.
    pub sku: String,
    pub version: i32,
    pub name: String,
    pub tasks: Vec<Task>,
    pub created_at: DateTime<Utc>,
}

impl Plan {
    pub fn task(&self, task_id: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.task_id == task_id)
    }
}
