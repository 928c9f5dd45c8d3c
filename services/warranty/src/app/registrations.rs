//! Registering products — every unit of a delivered order line, or a
//! product bought elsewhere with its proof of purchase — verifying them,
//! and whether they are covered on a day.

use aftercare_kernel::zone::Tz;
use aftercare_kernel::{Currency, DateTime, Money, Utc};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_platform::uow::Replay;
use aftercare_proto::warranty_events::ProductRegistered;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Warranty, visible};
use crate::domain::registration::serial_key;
use crate::domain::{
    Coverage, Exclusion, Extension, ExtensionId, Registration, RegistrationId, RegistrationStatus, Source, TermsRef,
    WarrantyError,
};
use crate::events;
use crate::store;

/// A product bought elsewhere, as asked to register.
pub struct ProductRegistration {
    pub customer_id: String,
    pub sku: String,
    pub category: String,
    pub product_name: String,
    pub serial_number: String,
    pub purchased_at: DateTime<Utc>,
    pub proof_of_purchase_ref: String,
    /// `None`: the default calendar's.
    pub time_zone: Option<Tz>,
    pub request_id: String,
}

impl ProductRegistration {
    fn canonical(&self) -> Vec<u8> {
        [
            self.customer_id.as_str(),
            &self.sku,
            &self.category,
            &self.product_name,
            &self.serial_number,
            &self.purchased_at.to_rfc3339(),
            &self.proof_of_purchase_ref,
            self.time_zone.map_or("", |z| z.name()),
        ]
        .join("\u{0}")
        .into_bytes()
    }
}

/// What CheckCoverage looks a product up by.
pub enum Product {
    Registration(RegistrationId),
    Serial(String),
}

/// A coverage question: which product, on which day (`None`: now), for
/// which cause of fault when known.
pub struct CoverageQuery {
    pub product: Product,
    pub at: Option<DateTime<Utc>>,
    pub cause: Option<Exclusion>,
}

/// A page of registrations.
pub struct RegistrationPage {
    pub registrations: Vec<Registration>,
    pub next_page_token: String,
}

impl Warranty {
    /// Registers a product bought elsewhere, pending verification.
    pub async fn register_product(&self, caller: &Caller, r: ProductRegistration) -> Result<Registration, Error> {
        visible(caller, &r.customer_id, "customer", &r.customer_id)?;
        let mut uow = self.ctx.begin().await?;
        let id = RegistrationId::new();
        let answer = *id.as_uuid().as_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(
                "warranty.RegisterProduct",
                caller,
                "request_id",
                &r.request_id,
                &r.canonical(),
                &answer,
            )
            .await?
        {
            let id = RegistrationId::from_uuid(Uuid::from_slice(&stored).map_err(Error::internal)?);
            return store::registrations::get(uow.conn(), id, false)
                .await?
                .ok_or_else(|| Error::internal("a stored registration is gone"));
        }
        let now = uow.now();
        if r.purchased_at > now {
            return Err(Error::invalid("purchased_at", "must not be in the future"));
        }
        let terms = store::terms::in_force(uow.conn(), &r.category, &r.sku).await?;
        let time_zone = match r.time_zone {
            Some(z) => z,
            None => store::calendars::default(uow.conn()).await?.time_zone,
        };
        let registration = Registration {
            registration_id: id,
            customer_id: r.customer_id,
            source: Source::Manual,
            status: RegistrationStatus::PendingVerification,
            sku: r.sku,
            category: r.category,
            product_name: r.product_name,
            serial_number: Some(r.serial_number),
            order_line: None,
            purchased_at: r.purchased_at,
            proof_of_purchase_ref: Some(r.proof_of_purchase_ref),
            coverage_starts_at: r.purchased_at,
            terms: TermsRef {
                category: terms.category,
                sku: terms.sku,
                version: terms.version,
            },
            duration_months: terms.duration_months,
            extended_months: 0,
            time_zone,
            repair_extension_days: 0,
            verification_note: String::new(),
            unit_price: None,
            replaces: None,
            created_at: now,
        };
        store::registrations::insert(uow.conn(), &registration).await?;
        uow.commit().await?;
        Ok(registration)
    }

    /// Accepts (ACTIVE, announced) or rejects a pending registration.
    pub async fn verify(&self, id: RegistrationId, accept: bool, note: String) -> Result<Registration, Error> {
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let mut r = store::registrations::get(uow.conn(), id, true)
            .await?
            .ok_or_else(|| WarrantyError::not_found("registration", id.to_string()))?;
        if r.status != RegistrationStatus::PendingVerification {
            return Err(WarrantyError::NotPending(r.status).into());
        }
        r.status = if accept {
            RegistrationStatus::Active
        } else {
            RegistrationStatus::Rejected
        };
        r.verification_note = note;
        store::registrations::set_verified(uow.conn(), &r, now).await?;
        if accept {
            uow.emit(&id.to_string(), &events::product_registered(&r)?).await?;
        }
        uow.commit().await?;
        Ok(r)
    }

    pub async fn registration(&self, caller: &Caller, id: RegistrationId) -> Result<Registration, Error> {
        let r = store::registrations::get(&mut *self.ctx.read().await?, id, false)
            .await?
            .ok_or_else(|| WarrantyError::not_found("registration", id.to_string()))?;
        visible(caller, &r.customer_id, "registration", id)?;
        Ok(r)
    }

    pub async fn registrations(
        &self,
        caller: &Caller,
        customer_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<RegistrationPage, Error> {
        visible(caller, customer_id, "customer", customer_id)?;
        let limit = paging::page_size(page_size)?;
        let query = format!("registrations\u{0}{customer_id}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut conn = self.ctx.read().await?;
        let mut registrations = store::registrations::list(&mut conn, customer_id, cursor.as_ref(), limit + 1).await?;
        let next_page_token = paging::next_token(&mut registrations, limit, &query, |r| {
            (r.created_at, r.registration_id.to_string())
        });
        Ok(RegistrationPage {
            registrations,
            next_page_token,
        })
    }

    /// Whether a product is covered at `at` (default now). An unknown
    /// serial, or another customer's, is NOT_REGISTERED: a serial never
    /// tells who owns it.
    pub async fn coverage(&self, caller: &Caller, q: CoverageQuery) -> Result<Coverage, Error> {
        let mut conn = self.ctx.read().await?;
        // A serial answers whether it is covered, never whose it is: only
        // its owner and staff learn the registration.
        let mut hide_owner = false;
        let registration = match q.product {
            Product::Registration(id) => {
                let r = store::registrations::get(&mut conn, id, false)
                    .await?
                    .ok_or_else(|| WarrantyError::not_found("registration", id.to_string()))?;
                visible(caller, &r.customer_id, "registration", id)?;
                r
            }
            Product::Serial(serial) => match store::registrations::by_serial(&mut conn, &serial).await? {
                Some(r) if caller.may_see_customer(&r.customer_id) => {
                    hide_owner = caller.role == aftercare_platform::auth::Role::Service;
                    r
                }
                _ => return Ok(Coverage::not_registered()),
            },
        };
        let terms = self.cache.terms(&mut conn, &registration.terms).await?;
        let mut coverage = registration.coverage(&terms, q.at.unwrap_or_else(|| self.ctx.clock.now()), q.cause)?;
        if hide_owner {
            coverage.registration_id = None;
        }
        Ok(coverage)
    }
}

/// Registers every unit of an order's delivered lines, covered from
/// delivery under the terms in force then; the events to write (none for
/// units registered before).
pub async fn register_delivered(
    conn: &mut PgConnection,
    order_id: &str,
    line_ids: &[String],
    delivered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Vec<ProductRegistered>, Error> {
    let lines = store::order_lines::get(conn, order_id, line_ids).await?;
    if lines.len() != line_ids.len() {
        return Err(WarrantyError::Corrupt(format!("order {order_id}: delivered lines were never recorded")).into());
    }
    let time_zone = store::calendars::default(conn).await?.time_zone;
    let mut out = Vec::new();
    // Products first, then the plans extending them (so a plan delivered
    // with its product extends the units just registered).
    let (plans, products): (Vec<_>, Vec<_>) = lines.into_iter().partition(|l| l.extends_line_id.is_some());
    for line in products {
        let terms = store::terms::in_force(conn, &line.category, &line.sku).await?;
        // Plans delivered before the product extend it from the start.
        let extended_months = store::plans::active_months(conn, &line.order_id, &line.line_id).await?;
        let template = Registration {
            registration_id: RegistrationId::new(),
            customer_id: line.customer_id.clone(),
            source: Source::Order,
            status: RegistrationStatus::Active,
            sku: line.sku.clone(),
            category: line.category.clone(),
            product_name: line.product_name.clone(),
            serial_number: None,
            order_line: Some((line.order_id.clone(), line.line_id.clone(), 1)),
            purchased_at: line.placed_at,
            proof_of_purchase_ref: None,
            coverage_starts_at: delivered_at,
            terms: TermsRef {
                category: terms.category.clone(),
                sku: terms.sku.clone(),
                version: terms.version,
            },
            duration_months: terms.duration_months,
            extended_months,
            time_zone,
            repair_extension_days: 0,
            verification_note: String::new(),
            unit_price: None,
            replaces: None,
            created_at: now,
        };
        // Each unit's share of what the line cost, the shares summing to it.
        let currency = Currency::from_code(&line.currency_code)
            .ok_or_else(|| WarrantyError::Corrupt(format!("stored currency {:?}", line.currency_code)))?;
        let paid = Money::from_decimal(currency, line.paid_amount);
        let one = Money::from_minor(currency, 1);
        let prices = paid.split(&vec![one; line.quantity.unsigned_abs() as usize]);
        // One statement per line, however many units it has.
        // The storefront's serials, unit by unit; one registered already
        // (by hand, before delivery) is left for an agent to sort out.
        let keys: Vec<String> = line.serial_numbers.iter().map(|s| serial_key(s)).collect();
        let taken = store::registrations::taken_serials(conn, &keys).await?;
        // A serial given twice in the line goes to its first unit only.
        let serial = |unit: i32| {
            let at = usize::try_from(unit - 1).ok()?;
            let s = line.serial_numbers.get(at)?;
            let key = serial_key(s);
            if key.is_empty() || taken.contains(&key) || keys[..at].contains(&key) {
                tracing::warn!(order_id, line_id = %line.line_id, "a delivered unit's serial is registered already");
                return None;
            }
            Some(s.clone())
        };
        let units: Vec<_> = (1..=line.quantity)
            .zip(prices)
            .map(|(unit, price)| (RegistrationId::new(), Some(unit), serial(unit), Some(price)))
            .collect();
        let written = store::registrations::insert_units(conn, &template, &units).await?;
        let written: std::collections::HashSet<RegistrationId> = written.into_iter().collect();
        for (id, unit, serial, price) in units.iter().filter(|(id, ..)| written.contains(id)) {
            let mut r = template.clone();
            r.registration_id = *id;
            r.order_line = Some((line.order_id.clone(), line.line_id.clone(), unit.unwrap_or(1)));
            r.serial_number = serial.clone();
            r.unit_price = *price;
            out.push(events::product_registered(&r)?);
        }
    }
    for line in plans {
        extension_delivered(conn, &line, delivered_at, now).await?;
    }
    Ok(out)
}

/// A plan line delivered: the plan is recorded once, and the units of the
/// line it extends gain its months. A plan SKU the store never configured
/// extends nothing (logged, for an admin to add the plan).
async fn extension_delivered(
    conn: &mut PgConnection,
    line: &store::order_lines::OrderLine,
    delivered_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let Some(target) = &line.extends_line_id else {
        return Ok(());
    };
    // A plan sold but never configured is not dropped: the delivery waits
    // (retried, then a dead letter an admin replays once the plan exists).
    let Some(plan) = store::plans::plan(conn, &line.sku).await? else {
        return Err(
            WarrantyError::Corrupt(format!("no plan is configured for the sold plan SKU {:?}", line.sku)).into(),
        );
    };
    let currency = Currency::from_code(&line.currency_code)
        .ok_or_else(|| WarrantyError::Corrupt(format!("stored currency {:?}", line.currency_code)))?;
    let extension = Extension {
        extension_id: ExtensionId::new(),
        order_id: line.order_id.clone(),
        plan_line_id: line.line_id.clone(),
        extends_line_id: target.clone(),
        customer_id: line.customer_id.clone(),
        sku: line.sku.clone(),
        months: plan.months,
        price: Money::from_decimal(currency, line.paid_amount),
        delivered_at,
        cooling_off_until: delivered_at + aftercare_kernel::Duration::days(plan.cooling_off_days.into()),
        canceled_at: None,
        refund_due: None,
    };
    if store::plans::insert_extension(conn, &extension, now).await? {
        store::registrations::extend_line(conn, &line.order_id, target, plan.months, now).await?;
    }
    Ok(())
}
