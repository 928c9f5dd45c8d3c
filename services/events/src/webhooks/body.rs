//! What a webhook posts: the event and its payload in the proto3 JSON
//! mapping, so a receiver needs no protobuf.

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::{Value, json};

use crate::store::Positioned;

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(aftercare_proto::FILE_DESCRIPTOR_SET).expect("the contracts' descriptors decode")
    })
}

/// The payload as JSON; `null` if it does not decode as its topic (an
/// event is never dropped for that: the receiver still gets its id).
fn payload(topic: &str, bytes: &[u8]) -> Value {
    let Some(desc) = pool().get_message_by_name(topic) else {
        return Value::Null;
    };
    let Ok(message) = DynamicMessage::decode(desc, bytes) else {
        return Value::Null;
    };
    let options = SerializeOptions::new().skip_default_fields(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .unwrap_or(Value::Null)
}

pub fn of(event: &Positioned) -> Vec<u8> {
    json!({
        "eventId": event.id.to_string(),
        "topic": event.topic,
        "aggregateId": event.aggregate_id,
        "occurredAt": event.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "cursor": event.position.to_string(),
        "payload": payload(&event.topic, &event.payload),
    })
    .to_string()
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    #[test]
    fn the_body_carries_the_event_and_its_payload_as_json() {
        let event = aftercare_proto::order_events::OrderCanceled {
            order_id: "O-1".into(),
            ..Default::default()
        };
        let positioned = Positioned {
            position: 42,
            id: uuid::Uuid::nil(),
            topic: "aftercare.orders.events.v1.OrderCanceled".into(),
            aggregate_id: "O-1".into(),
            payload: event.encode_to_vec(),
            occurred_at: "2026-03-02T09:00:00Z".parse().unwrap(),
        };
        let body: Value = serde_json::from_slice(&of(&positioned)).unwrap();
        assert_eq!(body["cursor"], "42");
        assert_eq!(body["topic"], "aftercare.orders.events.v1.OrderCanceled");
        assert_eq!(body["payload"]["orderId"], "O-1");
        assert_eq!(body["occurredAt"], "2026-03-02T09:00:00.000000Z");
        let garbage = Positioned {
            payload: vec![0xff, 0xff],
            ..positioned
        };
        let body: Value = serde_json::from_slice(&of(&garbage)).unwrap();
        assert_eq!(body["payload"], Value::Null);
    }
}
