//! Centres as each server keeps them in memory for booking: a booking
//! checks its slot against the kept centre and takes its seat only while
//! the centre's row still has that revision (one statement, which also
//! locks the row against an admin's edit); an edited centre is read again.

use std::collections::HashMap;
// A panic while holding the lock leaves whole values behind (entries are
// inserted whole), so a poisoned lock is used as is.
use std::sync::{Arc, PoisonError, RwLock};

use aftercare_platform::error::Error;
use sqlx::PgConnection;

use crate::domain::MaintenanceError;
use crate::store;
use crate::store::centres::Revised;

/// Centres are admin edits: hundreds. Past this many the map starts over.
const MAX_CENTRES: usize = 10_000;

#[derive(Default)]
pub struct Centres {
    kept: RwLock<HashMap<String, Arc<Revised>>>,
}

impl Centres {
    /// The kept centre, or the stored one (then kept).
    pub async fn get(&self, conn: &mut PgConnection, id: &str) -> Result<Arc<Revised>, Error> {
        if let Some(c) = self.kept.read().unwrap_or_else(PoisonError::into_inner).get(id) {
            return Ok(c.clone());
        }
        self.reload(conn, id).await
    }

    /// The stored centre, kept from now on.
    pub async fn reload(&self, conn: &mut PgConnection, id: &str) -> Result<Arc<Revised>, Error> {
        let c = Arc::new(
            store::centres::centre_revised(conn, id)
                .await?
                .ok_or_else(|| MaintenanceError::not_found("centre", id))?,
        );
        let mut kept = self.kept.write().unwrap_or_else(PoisonError::into_inner);
        if kept.len() >= MAX_CENTRES {
            kept.clear();
        }
        kept.insert(id.to_owned(), c.clone());
        Ok(c)
    }
}
