//! `lastUsedAt` of tokens, coalesced in memory and flushed periodically, so that an authenticated
//! read costs no write.

use std::collections::HashMap;
use std::sync::Mutex;

use sqlx::SqlitePool;

use crate::clock::now_iso;
use crate::store;

#[derive(Debug, Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<String, String>>,
}

impl LastUsed {
    pub fn touch(&self, token_id: &str) {
        let now = now_iso();
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match pending.get_mut(token_id) {
            Some(at) => *at = now,
            None => {
                pending.insert(token_id.to_owned(), now);
            }
        }
    }

    /// The unflushed time for a token, which is newer than the stored one.
    pub fn get(&self, token_id: &str) -> Option<String> {
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pending.get(token_id).cloned()
    }

    /// Writes the pending times in one transaction; deleted tokens are simply not found.
    pub async fn flush(&self, db: &SqlitePool) -> sqlx::Result<()> {
        let pending = {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::take(&mut *pending)
        };
        if pending.is_empty() {
            return Ok(());
        }
        let mut tx = store::begin_write(db).await?;
        for (id, at) in &pending {
            store::tokens::set_last_used(&mut *tx, id, at).await?;
        }
        tx.commit().await
    }
}
