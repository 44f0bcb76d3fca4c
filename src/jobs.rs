//! The periodic jobs of a running server, registered with the [`Scheduler`]: the
//! reboot-required alert, automatic updates, the dynamic DNS check, the certificate check, the
//! external LDAP sync, the disk usage, storing tokens' last use, and following changes other
//! processes make to the store.

use std::time::Duration;

use crate::scheduler::{Every, Scheduler};
use crate::state::AppState;
use crate::store::REVISION_CHECK_EVERY;
use crate::updater::schedule::AutoUpdate;
use crate::{certs, dyndns, external_ldap, system, updater};

const LAST_USED_FLUSH_EVERY: Duration = Duration::from_secs(30);
const REBOOT_CHECK_EVERY: Duration = Duration::from_secs(300);
const CERT_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
/// The first certificate check comes this long after start, so a server restarted more often
/// than daily still checks, yet a start is not slowed by it.
const CERT_CHECK_FIRST: Duration = Duration::from_secs(3600);
const DISK_USAGE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The periodic jobs: the reboot-required alert, automatic updates, the dynamic DNS check, the
/// certificate check, the external LDAP sync, the disk usage, storing tokens' last use.
pub fn start(state: &AppState) -> Scheduler {
    let scheduler = Scheduler::new(state.config.clock.clone(), state.shutdown.clone());
    let for_reboot = state.clone();
    scheduler.spawn(
        "reboot-check",
        Every::new(REBOOT_CHECK_EVERY).starting_now(),
        move || system::check_reboot(for_reboot.clone()),
    );
    let for_updates = state.clone();
    let plan = AutoUpdate::new(
        state.autoupdate_pattern.subscribe(),
        state.time_zone.subscribe(),
    );
    scheduler.spawn("autoupdate", plan, move || {
        updater::schedule::run(for_updates.clone())
    });
    let for_dyndns = state.clone();
    scheduler.spawn(
        "dyndns",
        Every::new(state.config.dyndns_interval),
        move || dyndns::check(for_dyndns.clone()),
    );
    let for_revision = state.clone();
    scheduler.spawn("revision", Every::new(REVISION_CHECK_EVERY), move || {
        follow_revision(for_revision.clone())
    });
    let for_certs = state.clone();
    scheduler.spawn(
        "cert-check",
        Every::new(CERT_CHECK_EVERY).first_after(CERT_CHECK_FIRST),
        move || certs::check(for_certs.clone()),
    );
    if let Some(interval) = state.config.external_ldap.sync_interval {
        let for_ldap = state.clone();
        scheduler.spawn("external-ldap-sync", Every::new(interval), move || {
            external_ldap::scheduled_sync(for_ldap.clone())
        });
    }
    let for_disks = state.clone();
    scheduler.spawn("disk-usage", Every::new(DISK_USAGE_EVERY), move || {
        system::refresh_disk_usage(for_disks.clone())
    });
    let for_tokens = state.clone();
    scheduler.spawn("last-used", Every::new(LAST_USED_FLUSH_EVERY), move || {
        flush_last_used(for_tokens.clone())
    });
    scheduler
}

/// Stores the tokens' coalesced `lastUsedAt`; also run once more at shutdown.
pub async fn flush_last_used(state: AppState) {
    if let Err(err) = state.last_used.flush(&state.db).await {
        tracing::warn!(error = %err, "could not store token lastUsedAt: {err}");
    }
}

/// Clears what is cached of the store when someone else (the operator CLI) changed it.
async fn follow_revision(state: AppState) {
    match state.revision.changed().await {
        Ok(false) => {}
        Ok(true) => {
            state.auth_cache.clear();
            state.settings.clear();
        }
        Err(err) => tracing::warn!(error = %err, "cannot check the store for changes: {err}"),
    }
}
