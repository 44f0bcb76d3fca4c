//! The platform's notifications: one-off notices (a user added, a task failed) and alerts, which
//! exist once per kind and are raised, refreshed and cleared in place.

use sqlx::SqliteExecutor;

use crate::clock::now_iso;
use crate::store;

/// A condition the dashboard shows until it clears: `reboot`, `boxUpdate`, ...
#[derive(Debug, Clone, Copy)]
pub struct Alert {
    pub id: &'static str,
}

pub const REBOOT: Alert = Alert { id: "reboot" };
pub const BOX_UPDATE: Alert = Alert { id: "boxUpdate" };
pub const CERTIFICATE_RENEWAL: Alert = Alert {
    id: "certificateRenewal",
};
pub const MAIL_DELIVERY: Alert = Alert { id: "mailDelivery" };

/// Raises `alert` with this title and message (refreshing it if raised), or clears it when
/// `message` is empty; clearing creates nothing.
pub async fn alert(
    db: impl SqliteExecutor<'_>,
    alert: Alert,
    title: &str,
    message: &str,
) -> sqlx::Result<()> {
    if message.is_empty() {
        store::notifications::acknowledge_alert(db, alert.id).await
    } else {
        store::notifications::upsert_alert(db, alert.id, title, message, &now_iso()).await
    }
}

/// A one-off notification, linked to the event it is about.
pub async fn notify(
    db: impl SqliteExecutor<'_>,
    event_id: Option<&str>,
    title: &str,
    message: &str,
) -> sqlx::Result<()> {
    store::notifications::insert(db, event_id, title, message, &now_iso())
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Page;
    use crate::store::test_pool;

    #[tokio::test]
    async fn an_alert_is_raised_refreshed_and_cleared_in_place() {
        let (db, _dir) = test_pool().await;
        alert(&db, REBOOT, "Reboot Required", "").await.unwrap();
        assert!(
            store::notifications::list(&db, None, Page::default())
                .await
                .unwrap()
                .is_empty(),
            "clearing creates nothing"
        );
        alert(&db, REBOOT, "Reboot Required", "a kernel update")
            .await
            .unwrap();
        alert(&db, REBOOT, "Reboot Required", "two kernel updates")
            .await
            .unwrap();
        let all = store::notifications::list(&db, None, Page::default())
            .await
            .unwrap();
        assert_eq!(
            (all.len(), all[0].message.as_str(), all[0].acknowledged),
            (1, "two kernel updates", false)
        );
        alert(&db, REBOOT, "Reboot Required", "").await.unwrap();
        assert!(
            store::notifications::get(&db, all[0].id)
                .await
                .unwrap()
                .unwrap()
                .acknowledged
        );
        notify(&db, Some("event-1"), "User 'bob' added", "")
            .await
            .unwrap();
        assert_eq!(
            store::notifications::list(&db, Some(false), Page::default())
                .await
                .unwrap()
                .len(),
            1
        );
    }
}
