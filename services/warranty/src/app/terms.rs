//! Terms and business calendars (admin-managed), and the service metrics.

use aftercare_kernel::Violations;
use aftercare_platform::error::Error;

use super::Warranty;
use crate::domain::{Terms, WarrantyError};
use crate::store;
use crate::store::calendars::Calendar;

impl Warranty {
    pub async fn terms(&self, category: &str, sku: &str) -> Result<Terms, Error> {
        store::terms::in_force(&mut *self.ctx.read().await?, category, sku).await
    }

    pub async fn all_terms(&self) -> Result<Vec<Terms>, Error> {
        store::terms::all_in_force(&mut *self.ctx.read().await?).await
    }

    /// Writes the next version of the terms' key.
    pub async fn update_terms(&self, terms: Terms) -> Result<Terms, Error> {
        let mut v = Violations::new();
        terms.check(&mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        let saved = store::terms::insert_next(uow.conn(), &terms, now).await?;
        uow.commit().await?;
        Ok(saved)
    }

    /// The support lead's figures for claims filed in `[from, to)`.
    pub async fn metrics(
        &self,
        from: aftercare_kernel::DateTime<aftercare_kernel::Utc>,
        to: aftercare_kernel::DateTime<aftercare_kernel::Utc>,
        channel: Option<aftercare_kernel::channel::Channel>,
    ) -> Result<store::metrics::Metrics, Error> {
        store::metrics::metrics(&mut *self.ctx.read().await?, from, to, channel, self.ctx.clock.now()).await
    }

    pub async fn calendar(&self, country_code: &str) -> Result<Calendar, Error> {
        store::calendars::get(&mut *self.ctx.read().await?, country_code)
            .await?
            .ok_or_else(|| WarrantyError::not_found("calendar", country_code).into())
    }

    pub async fn update_calendar(&self, mut calendar: Calendar) -> Result<Calendar, Error> {
        let mut uow = self.ctx.begin().await?;
        calendar.updated_at = uow.now();
        calendar.revision = store::calendars::upsert(uow.conn(), &calendar).await?;
        uow.commit().await?;
        Ok(calendar)
    }
}
