//! TOTP (RFC 6238, SHA-1, 6 digits, 30 s) with totp-rs: secrets, the QR code, checking codes.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::SqliteExecutor;
use totp_rs::{Builder, Secret, Totp};

use crate::store;

/// A fresh 160-bit secret, base32.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret: &str, label: &str, issuer: &str) -> anyhow::Result<Totp> {
    let secret = Secret::try_from_base32(secret).context("a stored TOTP secret is malformed")?;
    // otpauth labels are "issuer:account"; a colon inside either would split them wrongly.
    Builder::new()
        .with_secret(secret)
        .with_skew(1)
        .with_account_name(label.replace(':', " "))
        .with_issuer(Some(issuer.replace(':', " ")))
        .build()
        .context("building the TOTP generator failed")
}

/// The otpauth QR code as a `data:image/png;base64,...` URL.
pub fn qrcode(secret: &str, label: &str, issuer: &str) -> anyhow::Result<String> {
    let png = totp(secret, label, issuer)?
        .to_qr_base64()
        .context("the QR code failed")?;
    Ok(format!("data:image/png;base64,{png}"))
}

/// The time step `code` is valid for at `now`, allowing one step of clock skew either way.
/// The caller must still refuse a step that was used before.
pub fn check(secret: &str, code: &str, now: DateTime<Utc>) -> anyhow::Result<Option<i64>> {
    let seconds = u64::try_from(now.timestamp()).unwrap_or_default();
    let step = totp(secret, "check", "boxd")?.check(code.trim(), seconds);
    Ok(step.and_then(|step| i64::try_from(step).ok()))
}

/// Whether `code` is a current code of `secret` that the user has not used before; if so, it is
/// marked used. Login and enabling 2FA both check codes here, so a code is accepted once.
pub async fn accept(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    secret: &str,
    code: &str,
) -> anyhow::Result<bool> {
    match check(secret, code, Utc::now())? {
        Some(step) => Ok(store::users::use_totp_step(db, user_id, step).await?),
        None => Ok(false),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The code of `secret` at `at`, as an authenticator app computes it.
    pub(crate) fn code_at(secret: &str, at: DateTime<Utc>) -> String {
        let seconds = u64::try_from(at.timestamp()).unwrap();
        totp(secret, "x", "y")
            .unwrap()
            .generate(seconds)
            .to_string()
    }

    #[test]
    fn codes_check_within_one_step_of_skew() {
        let secret = new_secret();
        let now = Utc::now();
        let current = code_at(&secret, now);
        let step = check(&secret, &current, now).unwrap().unwrap();
        assert_eq!(step, now.timestamp() / 30);
        let previous = code_at(&secret, now - chrono::TimeDelta::seconds(30));
        assert_eq!(check(&secret, &previous, now).unwrap(), Some(step - 1));
        let stale = code_at(&secret, now - chrono::TimeDelta::seconds(90));
        assert_eq!(check(&secret, &stale, now).unwrap(), None);
        assert_eq!(check(&secret, "abc", now).unwrap(), None);
    }

    #[test]
    fn the_qrcode_is_a_png_data_url() {
        let url = qrcode(&new_secret(), "My: Cloud (alice)", "my.example.com").unwrap();
        assert!(
            url.starts_with("data:image/png;base64,iVBOR"),
            "{}",
            &url[..40]
        );
    }
}
