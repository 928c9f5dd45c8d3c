//! The event stream's row: events per second to one subscriber that
//! follows the whole outbox from its start (the rows before it left their
//! events there; a backlog of realistic events is added), positions given
//! by the feed as it goes included.

use std::time::{Duration, Instant};

use aftercare_platform::auth::{Authenticator, Role};
use aftercare_proto::events::SubscribeRequest;
use aftercare_proto::events::event_service_client::EventServiceClient;
use tonic::transport::Channel;

use crate::workload::Bearer;

/// Events added before the row, beside those the rows before it wrote.
pub const BACKLOG: i64 = 300_000;

/// Adds [`BACKLOG`] events in one statement, of a return's summary's size
/// (150 bytes of payload, not decoded by the stream), each its own
/// aggregate.
pub async fn seed(pool: &sqlx::PgPool) {
    sqlx::query(
        "INSERT INTO platform.outbox_events (id, topic, aggregate_id, payload, occurred_at)
         SELECT gen_random_uuid(), 'aftercare.returns.events.v1.ReturnReceived', 'bench-return-' || g,
             decode(repeat('61', 150), 'hex'), now()
         FROM generate_series(1, $1) g",
    )
    .bind(BACKLOG)
    .execute(pool)
    .await
    .expect("events");
}

/// One subscriber reads every stored event from the start, resuming from
/// its cursor when cut off as a slow reader; how many, how long from its
/// first call to the last event, and how often it was cut off.
pub async fn follow(channel: Channel, auth: &Authenticator, pool: &sqlx::PgPool) -> (i64, Duration, u32) {
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM platform.outbox_events")
        .fetch_one(pool)
        .await
        .unwrap();
    let mut client = EventServiceClient::with_interceptor(channel, Bearer::new(auth, Role::Service, "bench-tool"));
    let started = Instant::now();
    let (mut got, mut cursor, mut cut_off) = (0, String::new(), 0);
    while got < total {
        let mut stream = client
            .subscribe(SubscribeRequest {
                topics: vec![],
                after_cursor: cursor.clone(),
            })
            .await
            .expect("subscribe")
            .into_inner();
        while got < total {
            match stream.message().await {
                Ok(Some(e)) => {
                    got += 1;
                    cursor = e.cursor;
                }
                Err(s) if s.code() == tonic::Code::ResourceExhausted => {
                    cut_off += 1;
                    break;
                }
                other => panic!("the stream stopped after {got} of {total} events: {other:?}"),
            }
        }
    }
    (total, started.elapsed(), cut_off)
}

/// The event stream: one subscriber following the outbox from its start,
/// a backlog added to what the rows before left.
pub async fn row(url: &str, auth: &Authenticator, pool: &sqlx::PgPool) {
    seed(pool).await;
    let channel = tonic::transport::Channel::from_shared(url.to_owned())
        .unwrap()
        .connect()
        .await
        .expect("the server");
    let (events, took, cut_off) = follow(channel.clone(), auth, pool).await;
    // A second subscriber reads what the first had positioned.
    let (again, took_again, cut_off_again) = follow(channel, auth, pool).await;
    println!(
        "\nEvent stream: one subscriber read the outbox's {events} events from its start in {:.1} s \
         ({:.0} events/s, stream positions given as it read included; cut off as a slow reader {cut_off} \
         times); a second one read them in {:.1} s ({:.0} events/s; cut off {cut_off_again} times).",
        took.as_secs_f64(),
        events as f64 / took.as_secs_f64().max(1e-9),
        took_again.as_secs_f64(),
        again as f64 / took_again.as_secs_f64().max(1e-9),
    );
}
