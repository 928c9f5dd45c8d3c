//! The topics a subscriber may name: every event message of the contracts
//! (`aftercare.<area>.events.v1.<Event>`), read once from the descriptor
//! set the contracts are compiled with, so a new event is a topic without
//! a list to update. The messages events are made of (a summary, a line)
//! are fields of other messages there, and are not topics.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use prost::Message;
use prost_types::FileDescriptorSet;

/// Every event topic, sorted.
pub fn all() -> &'static BTreeSet<String> {
    static TOPICS: OnceLock<BTreeSet<String>> = OnceLock::new();
    TOPICS.get_or_init(|| {
        let fds = FileDescriptorSet::decode(aftercare_proto::FILE_DESCRIPTOR_SET)
            .expect("the contracts' descriptor set is the one they were compiled with");
        let events = || {
            fds.file
                .iter()
                // `aftercare.<area>.events.v1`: the stream's own package,
                // `aftercare.events.v1`, has no area and holds no events.
                .filter(|f| {
                    let area = f
                        .package()
                        .strip_prefix("aftercare.")
                        .and_then(|p| p.strip_suffix(".events.v1"));
                    area.is_some_and(|a| !a.is_empty())
                })
        };
        // Field types are named `.package.Message`.
        let parts: BTreeSet<&str> = events()
            .flat_map(|f| &f.message_type)
            .flat_map(|m| &m.field)
            .filter_map(|field| field.type_name.as_deref()?.strip_prefix('.'))
            .collect();
        events()
            .flat_map(|f| {
                f.message_type
                    .iter()
                    .map(move |m| format!("{}.{}", f.package(), m.name()))
            })
            .filter(|name| !parts.contains(name.as_str()))
            .collect()
    })
}

pub fn is_topic(topic: &str) -> bool {
    all().contains(topic)
}

/// Topics a subscription or a webhook may name, at most.
pub const MAX_TOPICS: usize = 50;

/// Checks a list of topics as given (`topics`, `topics[i]`); the list
/// sorted and without repeats.
pub fn check(v: &mut aftercare_kernel::Violations, topics: &[String]) -> Vec<String> {
    if topics.len() > MAX_TOPICS {
        v.add("topics", format!("at most {MAX_TOPICS}"));
    }
    for (i, t) in topics.iter().enumerate().take(MAX_TOPICS) {
        if !is_topic(t) {
            v.add(
                format!("topics[{i}]"),
                "is not an event topic (e.g. aftercare.returns.events.v1.ReturnReceived)",
            );
        }
    }
    let mut wanted = topics.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_areas_events_are_topics_and_nothing_else() {
        assert!(is_topic("aftercare.returns.events.v1.ReturnReceived"));
        assert!(is_topic("aftercare.maintenance.events.v1.MaintenanceReminderDue"));
        assert!(is_topic("aftercare.warranty.events.v1.ProductRegistered"));
        assert!(!is_topic("aftercare.returns.v1.Return"), "a resource is not an event");
        assert!(
            !is_topic("aftercare.returns.events.v1.ReturnSummary"),
            "a part of events is not one"
        );
        assert!(!is_topic("google.protobuf.Timestamp"));
        assert!(
            !is_topic("aftercare.events.v1.StreamedEvent"),
            "the stream's own messages"
        );
        assert!(!is_topic("aftercare.events.v1.Webhook"));
        assert!(!is_topic(""));
    }
}
