//! Servers keep centres in memory for booking: a centre edited after a
//! server kept it is booked by its new hours and seats, on the server the
//! edit went through and on another.

use std::time::Duration;

use aftercare_platform::auth::Role;
use aftercare_proto::maintenance::*;
use tonic::Code;

use super::appointments::{SLOT, booking, centre, istanbul, seats_left, weekdays, with_schedules};
use super::*;
use crate::support::{reason, violated_fields};

/// Saturday 14 March 2026, 10:00 in Istanbul.
const SATURDAY: &str = "2026-03-14T07:00:00Z";
/// Thursday 12 March 2026, 10:00 in Istanbul.
const THURSDAY: &str = "2026-03-12T07:00:00Z";

#[tokio::test]
async fn bookings_follow_a_centres_edit_made_after_servers_kept_it() {
    let app = TestApp::spawn().await;
    centre(&app, istanbul(2)).await;
    let all = with_schedules(&app, 1).await;
    let replica = app.spawn_replica(&["all"], Duration::from_secs(3600));
    let mut there = replica.maintenance(app.bearer(Role::Customer, CUSTOMER));
    // A booking on each server: both keep the centre as it is.
    there.book_appointment(booking(&all[0], SLOT, "b-0")).await.unwrap();
    let closed = customer(&app)
        .book_appointment(booking(&all[1], SATURDAY, "b-1"))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&closed), ["starts_at"], "closed on Saturdays");

    // Then open on Saturdays, closed on Thursdays, one seat a slot.
    let mut week: Vec<Opening> = weekdays().into_iter().filter(|o| o.weekday != 4).collect();
    week.push(Opening {
        weekday: 6,
        open: "10:00".into(),
        close: "14:00".into(),
    });
    centre(
        &app,
        Centre {
            opening: week,
            ..istanbul(1)
        },
    )
    .await;
    let saturday = customer(&app)
        .book_appointment(booking(&all[1], SATURDAY, "b-2"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(saturday.status, "booked", "open on Saturdays now");
    assert_eq!(seats_left(&app, SATURDAY).await, 0, "one seat, as edited");
    let thursday = there
        .book_appointment(booking(&all[2], THURSDAY, "b-3"))
        .await
        .unwrap_err();
    assert_eq!(
        (thursday.code(), violated_fields(&thursday)),
        (Code::InvalidArgument, vec!["starts_at".to_string()]),
        "closed on Thursdays now, on the other server too"
    );
    let full = there
        .book_appointment(booking(&all[3], SATURDAY, "b-4"))
        .await
        .unwrap_err();
    assert_eq!(reason(&full), "SLOT_FULL");
    assert_eq!(
        app.count("SELECT count(*) FROM maintenance.appointments WHERE status = 'booked'")
            .await,
        2
    );
}
