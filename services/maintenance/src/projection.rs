//! Warranty's events in, never its schema: `ProductRegistered` (each
//! registered product is scheduled under the plan in force,
//! [`crate::app::schedules::schedule_product`]; once per task), and its
//! claims' filing and status (visits are booked for open claims).

use aftercare_kernel::clock::SharedClock;
use aftercare_kernel::zone;
use aftercare_platform::outbox::{Event, EventHandler, HandlerFuture, required, required_time, topic};
use aftercare_proto::warranty_events::{ClaimFiled, ClaimResolved, ClaimStatusChanged, ProductRegistered};
use sqlx::PgConnection;

use crate::app::schedules::schedule_product;
use crate::app::visits::claim_closed;
use crate::domain::Product;
use crate::store::claims;

/// The consumer name; its subscription is also made by the migrations.
pub const CONSUMER: &str = "maintenance.products";

pub struct ProductSchedules {
    pub clock: SharedClock,
}

impl ProductSchedules {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let Some(e) = event.decode::<ProductRegistered>()? else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        let product = Product {
            registration_id: uuid::Uuid::parse_str(required(&e.registration_id, "registration_id")?)
                .map_err(|_| "registration_id is not a uuid")?,
            customer_id: required(&e.customer_id, "customer_id")?.to_owned(),
            sku: required(&e.sku, "sku")?.to_owned(),
            category: e.category.clone(),
            product_name: if e.product_name.is_empty() {
                e.sku.clone()
            } else {
                e.product_name.clone()
            },
            starts_at: required_time(e.coverage_starts_at.as_ref(), "coverage_starts_at")?,
            time_zone: zone::parse(required(&e.time_zone, "time_zone")?).ok_or("time_zone is not an IANA zone")?,
            replaces: match e.replaces_registration_id.as_str() {
                "" => None,
                id => Some(uuid::Uuid::parse_str(id).map_err(|_| "replaces_registration_id is not a uuid")?),
            },
        };
        // Dates a schedule can count from; anything else is a producer's
        // bug, left visible as a dead letter.
        let year = aftercare_kernel::Datelike::year(&product.starts_at);
        if !(2000..=2200).contains(&year) {
            return Err(format!("coverage_starts_at in {year}: outside 2000-2200"));
        }
        schedule_product(tx, product, self.clock.now())
            .await
            .map_err(|e| e.to_string())
    }
}

impl EventHandler for ProductSchedules {
    fn name(&self) -> &str {
        CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![topic::<ProductRegistered>()]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}

/// The claims consumer's name; its subscription is also made by the
/// migrations.
pub const CLAIMS_CONSUMER: &str = "maintenance.claims";

/// Warranty's claims in, for visits to be booked for them: filed, open
/// until rejected, canceled, resolved or closed.
pub struct ClaimVisits {
    pub clock: SharedClock,
}

/// Statuses (as `ClaimStatusChanged` names them) after which a claim takes
/// no visit.
const CLOSED: [&str; 4] = ["REJECTED", "CANCELED", "RESOLVED", "CLOSED"];

impl ClaimVisits {
    async fn apply(&self, tx: &mut PgConnection, event: &Event) -> Result<(), String> {
        let now = self.clock.now();
        if let Some(e) = event.decode::<ClaimFiled>()? {
            let registration = uuid::Uuid::parse_str(required(&e.registration_id, "registration_id")?)
                .map_err(|_| "registration_id is not a uuid")?;
            let claim = required(&e.claim_id, "claim_id")?;
            let customer = required(&e.customer_id, "customer_id")?;
            return claims::filed(tx, claim, registration, customer, now)
                .await
                .map_err(|e| e.to_string());
        }
        let (claim, status) = if let Some(e) = event.decode::<ClaimStatusChanged>()? {
            let status = required(&e.to_status, "to_status")?.to_owned();
            (e.claim_id, status)
        } else if let Some(e) = event.decode::<ClaimResolved>()? {
            (e.claim_id, "RESOLVED".to_owned())
        } else {
            return Err(format!("unexpected topic {}", event.topic));
        };
        if status.len() > 32 {
            return Err(format!("to_status {status:?} too long"));
        }
        let claim = required(&claim, "claim_id")?;
        let open = !CLOSED.contains(&status.as_str());
        claims::set_status(tx, claim, &status, open, now)
            .await
            .map_err(|e| e.to_string())?;
        if !open {
            claim_closed(tx, claim, now).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl EventHandler for ClaimVisits {
    fn name(&self) -> &str {
        CLAIMS_CONSUMER
    }

    fn topics(&self) -> Vec<String> {
        vec![
            topic::<ClaimFiled>(),
            topic::<ClaimStatusChanged>(),
            topic::<ClaimResolved>(),
        ]
    }

    fn handle<'a>(&'a self, tx: &'a mut PgConnection, event: &'a Event) -> HandlerFuture<'a> {
        Box::pin(self.apply(tx, event))
    }
}
