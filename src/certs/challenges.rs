//! The HTTP-01 answers: key authorizations by token, in memory, only while an order is pending.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
pub struct Challenges {
    pending: Mutex<HashMap<String, String>>,
}

impl Challenges {
    /// The key authorization to answer for `token`, while its order is pending.
    pub fn key_authorization(&self, token: &str) -> Option<String> {
        self.lock().get(token).cloned()
    }

    /// Serves `key_authorization` for `token` until the returned guard is dropped (also when
    /// the task is stopped or times out).
    pub(super) fn publish(self: &Arc<Self>, token: &str, key_authorization: &str) -> Published {
        self.lock()
            .insert(token.to_owned(), key_authorization.to_owned());
        Published {
            challenges: self.clone(),
            token: token.to_owned(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A published answer; dropping it withdraws the answer.
pub(super) struct Published {
    challenges: Arc<Challenges>,
    token: String,
}

impl Drop for Published {
    fn drop(&mut self) {
        self.challenges.lock().remove(&self.token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_lives_as_long_as_its_guard() {
        let challenges = Arc::new(Challenges::default());
        let published = challenges.publish("tok", "tok.thumb");
        assert_eq!(
            challenges.key_authorization("tok").as_deref(),
            Some("tok.thumb")
        );
        assert_eq!(challenges.key_authorization("other"), None);
        drop(published);
        assert_eq!(challenges.key_authorization("tok"), None);
    }
}
