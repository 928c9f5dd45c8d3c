//! Reading returns: one, or a page of a filtered list.

use aftercare_platform::auth::{Caller, Role};
use aftercare_platform::error::Error;
use aftercare_platform::paging::{self, Cursor};

use super::Returns;
use crate::domain::*;
use crate::store::returns::list_returns;

/// A page of returns with the policy each was decided under.
pub struct ReturnPage {
    pub returns: Vec<(Return, Policies)>,
    pub next_page_token: String,
    /// The query the page tokens are bound to, for a page cut shorter.
    pub query: String,
}

impl Returns {
    pub async fn get(&self, caller: &Caller, id: ReturnId) -> Result<(Return, Policies), Error> {
        let mut conn = self.ctx.read().await?;
        self.visible_return(&mut conn, caller, id, false).await
    }

    /// Customers see their own returns, newest first. Staff filter; a status
    /// filter makes a work queue, oldest first.
    pub async fn list(
        &self,
        caller: &Caller,
        mut filter: ReturnFilter,
        page_size: i64,
        page_token: &str,
    ) -> Result<ReturnPage, Error> {
        if caller.role == Role::Customer {
            if filter.customer_id.as_ref().is_some_and(|c| c != &caller.subject) {
                return Err(ReturnError::OtherCustomersReturns.into());
            }
            filter.customer_id = Some(caller.subject.clone());
        }
        filter.oldest_first = caller.role != Role::Customer && filter.status.is_some();
        let query = format!("returns.ListReturns:{filter:?}");
        let cursor = paging::decode("page_token", &query, page_token)?;

        let mut conn = self.ctx.read().await?;
        let mut returns = list_returns(&mut conn, &filter, cursor.as_ref(), page_size + 1).await?;
        let next_page_token = if returns.len() as i64 > page_size {
            returns.truncate(page_size as usize);
            let last = returns.last().expect("a full page");
            let cursor = Cursor {
                at: last.created_at,
                id: last.return_id.to_string(),
            };
            paging::encode(&query, &cursor)
        } else {
            String::new()
        };
        let mut out = Vec::with_capacity(returns.len());
        for r in returns {
            let policies = self.policies_of(&mut conn, &r).await?;
            out.push((r, policies));
        }
        Ok(ReturnPage {
            returns: out,
            next_page_token,
            query,
        })
    }
}
