//! What the hot paths (CheckCoverage, FileClaim) would otherwise read on
//! every call: a terms version never changes once written, so it is kept
//! for good; the default calendar is kept with its revision and read again
//! when the revision a caller saw in the database has moved.

use std::collections::HashMap;
// A panic while holding a lock leaves whole values behind (entries are
// inserted whole), so a poisoned lock is used as is.
use std::sync::{Arc, PoisonError, RwLock};

use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::{Terms, TermsRef};
use crate::store;
use crate::store::calendars::Calendar;

/// Terms versions are admin edits: thousands at most. Past this many the
/// map starts over rather than grow without bound.
const MAX_TERMS: usize = 10_000;

#[derive(Default)]
pub struct Cache {
    terms: RwLock<HashMap<TermsRef, Arc<Terms>>>,
    calendar: RwLock<Option<Arc<Calendar>>>,
}

impl Cache {
    /// One version of a key's terms.
    pub async fn terms(&self, conn: &mut PgConnection, key: &TermsRef) -> Result<Arc<Terms>, Error> {
        if let Some(t) = self.terms.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return Ok(t.clone());
        }
        let terms = Arc::new(store::terms::version(conn, key).await?);
        let mut map = self.terms.write().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_TERMS {
            map.clear();
        }
        map.insert(key.clone(), terms.clone());
        Ok(terms)
    }

    /// The default calendar as the caller saw it (its country and revision,
    /// read with the caller's rows): the kept one when it is that one.
    pub async fn default_calendar(
        &self,
        conn: &mut PgConnection,
        seen: &(String, i64),
    ) -> Result<Arc<Calendar>, Error> {
        if let Some(c) = self.calendar.read().unwrap_or_else(PoisonError::into_inner).as_ref()
            && (&c.country_code, c.revision) == (&seen.0, seen.1)
        {
            return Ok(c.clone());
        }
        let calendar = Arc::new(store::calendars::default(conn).await?);
        *self.calendar.write().unwrap_or_else(PoisonError::into_inner) = Some(calendar.clone());
        Ok(calendar)
    }
}
