//! The account and its ledger, goodwill grants and admin adjustments, and
//! the program.

use aftercare_kernel::{Months, Violations};
use aftercare_platform::auth::Caller;
use aftercare_platform::error::Error;
use aftercare_platform::paging;
use aftercare_platform::uow::{Replay, UnitOfWork};
use uuid::Uuid;

use super::checkout::take;
use super::{Loyalty, actor, emit_all, repay_debt, settle, visible};
use crate::domain::{Account, Changes, Entry, EntryId, EntryKind, LotId, LoyaltyError, Program};
use crate::store;

/// A page of the ledger, newest first.
pub struct EntryPage {
    pub entries: Vec<Entry>,
    pub next_page_token: String,
}

/// A grant or an adjustment as asked.
pub struct Credit {
    pub customer_id: String,
    /// Positive for a grant; either sign for an adjustment.
    pub points: i64,
    pub reason: String,
    pub request_id: String,
}

impl Credit {
    fn canonical(&self) -> Vec<u8> {
        format!("{}\u{0}{}\u{0}{}", self.customer_id, self.points, self.reason).into_bytes()
    }
}

impl Loyalty {
    pub async fn program(&self) -> Result<Program, Error> {
        store::program::load(&mut *self.ctx.read().await?).await
    }

    pub async fn update_program(&self, program: Program) -> Result<Program, Error> {
        let mut v = Violations::new();
        program.check(&mut v);
        v.finish()?;
        let mut uow = self.ctx.begin().await?;
        let now = uow.now();
        store::program::save(uow.conn(), &program, now).await?;
        let saved = store::program::load(uow.conn()).await?;
        uow.commit().await?;
        Ok(saved)
    }

    pub async fn account(&self, caller: &Caller, customer_id: &str) -> Result<Account, Error> {
        visible(caller, customer_id)?;
        store::accounts::get(&mut *self.ctx.read().await?, customer_id, self.ctx.clock.now()).await
    }

    pub async fn transactions(
        &self,
        caller: &Caller,
        customer_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> Result<EntryPage, Error> {
        visible(caller, customer_id)?;
        let limit = paging::page_size(page_size)?;
        let query = format!("transactions\u{0}{customer_id}");
        let cursor = paging::decode("page_token", &query, page_token)?;
        let mut entries =
            store::accounts::list_entries(&mut *self.ctx.read().await?, customer_id, cursor.as_ref(), limit + 1)
                .await?;
        let next_page_token = paging::next_token(&mut entries, limit, &query, |e| (e.at, e.entry_id.to_string()));
        Ok(EntryPage {
            entries,
            next_page_token,
        })
    }

    /// Goodwill points, available at once, within the program's limit.
    pub async fn grant(&self, caller: &Caller, c: Credit) -> Result<Entry, Error> {
        self.credit(caller, c, "loyalty.GrantPoints", EntryKind::Granted).await
    }

    /// An admin's correction of either sign; a debit never overdraws.
    pub async fn adjust(&self, caller: &Caller, c: Credit) -> Result<Entry, Error> {
        self.credit(caller, c, "loyalty.AdjustPoints", EntryKind::Adjusted)
            .await
    }

    async fn credit(&self, caller: &Caller, c: Credit, scope: &str, kind: EntryKind) -> Result<Entry, Error> {
        let mut uow = self.ctx.begin().await?;
        let entry = self.credit_in(&mut uow, caller, c, scope, kind).await?;
        uow.commit().await?;
        Ok(entry)
    }

    /// Goodwill another service asked for (a feedback follow-up's), in
    /// the delivery's transaction: once per `c.request_id`, a key of
    /// `scope` no caller of GrantPoints can reach.
    pub async fn grant_within(
        &self,
        uow: &mut UnitOfWork<'_>,
        caller: &Caller,
        c: Credit,
        scope: &str,
    ) -> Result<Entry, Error> {
        self.credit_in(uow, caller, c, scope, EntryKind::Granted).await
    }

    async fn credit_in(
        &self,
        uow: &mut UnitOfWork<'_>,
        caller: &Caller,
        c: Credit,
        scope: &str,
        kind: EntryKind,
    ) -> Result<Entry, Error> {
        let entry_id = EntryId::new();
        let answer = *entry_id.as_uuid().as_bytes();
        if let Replay::Stored(stored) = uow
            .claim_answered(scope, caller, "request_id", &c.request_id, &c.canonical(), &answer)
            .await?
        {
            let id = Uuid::from_slice(&stored).map_err(Error::internal)?;
            return Ok(store::accounts::get_entry(uow.conn(), EntryId::from_uuid(id))
                .await?
                .ok_or(LoyaltyError::EntryNotFound)?);
        }
        let now = uow.now();
        let who = actor(caller);
        let locked = store::accounts::lock(uow.conn(), &c.customer_id, now).await?;
        let program = self.program_at(uow.conn(), locked.program_version).await?;
        if kind == EntryKind::Granted && c.points > program.grant_limit {
            return Err(LoyaltyError::GrantOverLimit {
                limit: program.grant_limit,
            }
            .into());
        }
        let mut out = Vec::new();
        if locked.due {
            out = settle(uow.conn(), &c.customer_id, program.expiry_months, &who, now).await?;
        }
        let (changes, moves) = if c.points > 0 {
            let lot_id = LotId::new();
            let expires_at = u32::try_from(program.expiry_months)
                .ok()
                .filter(|m| *m > 0)
                .and_then(|m| now.checked_add_months(Months::new(m)));
            let source = if kind == EntryKind::Granted {
                "grant"
            } else {
                "adjustment"
            };
            store::lots::insert_credit(uow.conn(), &c.customer_id, source, lot_id, c.points, expires_at, now).await?;
            (Changes::credited(c.points), vec![(lot_id, c.points)])
        } else {
            let debit = -c.points;
            let taken = take(uow.conn(), &c.customer_id, debit, now).await?;
            (Changes::debited(debit), taken)
        };
        let mut entry = Entry::new(&c.customer_id, kind, changes, &who, now);
        // A credit created its lot; a debit takes from the lots as it posts.
        entry = if c.points > 0 {
            entry.with_lots(&moves)
        } else {
            entry.taking(&moves)
        };
        entry.entry_id = entry_id;
        entry.reason = c.reason;
        store::accounts::post(uow.conn(), &entry).await?;
        if c.points > 0 {
            repay_debt(uow.conn(), &c.customer_id, &who, now).await?;
        }
        // Read back as a replay will read it: with the lots' expiry.
        let entry = store::accounts::get_entry(uow.conn(), entry_id)
            .await?
            .ok_or(LoyaltyError::EntryNotFound)?;
        emit_all(uow, &out).await?;
        Ok(entry)
    }
}
