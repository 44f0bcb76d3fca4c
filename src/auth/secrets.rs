//! Token and password secrets: generation, SHA-256 for tokens, argon2id for passwords.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use super::throttle::RateLimited;

/// argon2id with 7 MiB and 5 passes: of OWASP's equally strong parameter sets the one using the
/// least memory (19 MiB with 2 passes is another), as the daemon should stay small. Stored hashes
/// carry their parameters, so hashes made with other ones still verify.
fn argon2() -> Argon2<'static> {
    let params = argon2::Params::new(7 * 1024, 5, 1, None).unwrap_or_default();
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
}

/// Each argon2 run takes its 7 MiB; bounding the runs bounds the memory a flood of logins can take.
static HASHING: LazyLock<Semaphore> = LazyLock::new(|| {
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    Semaphore::new(cpus.max(2))
});

/// Requests waiting for a turn; see [`hashing_turn`].
static WAITING: AtomicUsize = AtomicUsize::new(0);
const MAX_WAITING: usize = 256;

/// Verified when the user does not exist, so unknown names cost what known ones do.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let password = new_token();
    argon2()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .unwrap_or_default()
});

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error(transparent)]
    Busy(#[from] RateLimited),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A new API token: 256 random bits, base64url (43 characters).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn hashes_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// A turn at argon2; past [`MAX_WAITING`] queued requests the server says it is busy rather
/// than let a flood pile up requests (and their bodies) in memory.
async fn hashing_turn() -> Result<tokio::sync::SemaphorePermit<'static>, HashError> {
    if WAITING.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        WAITING.fetch_sub(1, Ordering::SeqCst);
        crate::telemetry::metrics::throttled("busy");
        return Err(HashError::Busy(RateLimited {
            message: "The server is busy checking passwords; retry shortly".into(),
            retry_after_secs: 1,
        }));
    }
    let permit = HASHING.acquire().await;
    WAITING.fetch_sub(1, Ordering::SeqCst);
    permit.map_err(|_| HashError::Internal(anyhow::anyhow!("password hashing is shut down")))
}

/// Hashes a password with argon2id (OWASP parameters) off the async runtime.
pub async fn hash_password(password: String) -> Result<String, HashError> {
    let _turn = hashing_turn().await?;
    let hashed = tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|hash| hash.to_string())
            .map_err(|err| anyhow::anyhow!("hashing a password failed: {err}"))
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(hashed?)
}

/// A hash that no password matches (it is of a random secret nobody kept), for accounts whose
/// password lives elsewhere; computed once per process, not once per account.
pub async fn unusable_password_hash() -> Result<String, HashError> {
    let hash = tokio::task::spawn_blocking(|| DUMMY_HASH.clone())
        .await
        .map_err(anyhow::Error::from)?;
    Ok(hash)
}

/// Checks `password` against a stored hash; with no hash (unknown user) it still spends the time.
pub async fn verify_password(password: String, hash: Option<String>) -> Result<bool, HashError> {
    let _turn = hashing_turn().await?;
    let verified = tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| DUMMY_HASH.clone());
        let parsed = PasswordHash::new(&hash)
            .map_err(|err| anyhow::anyhow!("a stored password hash is malformed: {err}"))?;
        let matches = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        anyhow::Ok(known && matches)
    })
    .await
    .map_err(anyhow::Error::from)?;
    Ok(verified?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_urlsafe() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
    }

    #[tokio::test]
    async fn a_password_verifies_only_against_its_own_hash() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify_password("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(!verify_password("correct horse".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn new_hashes_take_seven_mib_and_older_parameters_still_verify() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=7168,t=5,p=1$"), "{hash}");
        let older = Argon2::default()
            .hash_password(b"correct horse")
            .unwrap()
            .to_string();
        assert!(older.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password("correct horse".into(), Some(older))
                .await
                .unwrap()
        );
    }
}
