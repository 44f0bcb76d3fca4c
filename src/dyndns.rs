//! Dynamic DNS: a periodic check of the public addresses; when they changed, a `syncDyndns` task
//! runs the operator's DNS command and records `dyndns.update`.

use std::net::IpAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::eventlog::{self, Action, Source};
use crate::network::{Family, detect};
use crate::settings::{self, DynamicDns, Ipv4Config, Ipv6Config, Setting};
use crate::state::AppState;
use crate::store;
use crate::tasks::{Job, TaskContext};

/// The addresses DNS was last synced to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Synced {
    pub ipv4: Option<IpAddr>,
    pub ipv6: Option<IpAddr>,
}

impl Setting for Synced {
    const NAME: &'static str = "dyndns_synced";
}

/// The scheduled check: with dynamic DNS on and the addresses changed, start a sync.
pub async fn check(state: AppState) {
    if let Err(err) = try_check(&state).await {
        tracing::warn!(error = %err, "dynamic DNS check failed: {err}");
    }
}

async fn try_check(state: &AppState) -> anyhow::Result<()> {
    let DynamicDns { enabled } = state.settings.get().await?;
    if !enabled {
        return Ok(());
    }
    let Ipv4Config(v4) = state.settings.get().await?;
    let Ipv6Config(v6) = state.settings.get().await?;
    // The sync task writes it in its own transaction: read the store, not the snapshot.
    let synced: Synced = settings::get(&state.db).await?;
    // A family whose detection fails keeps its last synced address; the other still syncs.
    let resolve =
        async |config, family, url, last| match detect::resolve(&state.http, config, family, url)
            .await
        {
            Ok(ip) => ip,
            Err(err) => {
                tracing::warn!("dynamic DNS: {err}");
                last
            }
        };
    let current = Synced {
        ipv4: resolve(&v4, Family::V4, &state.config.ipv4_detect_url, synced.ipv4).await,
        ipv6: resolve(&v6, Family::V6, &state.config.ipv6_detect_url, synced.ipv6).await,
    };
    if current == synced {
        tracing::debug!("dynamic DNS: the addresses are unchanged");
        return Ok(());
    }
    let job = SyncDyndns {
        db: state.db.clone(),
        from: synced,
        to: current,
        command: state.config.dyndns_command.clone(),
        domain: state.config.domain.clone(),
    };
    state.tasks.start(job).await?;
    Ok(())
}

/// The `syncDyndns` task.
pub struct SyncDyndns {
    db: sqlx::SqlitePool,
    from: Synced,
    to: Synced,
    command: Option<String>,
    domain: String,
}

fn text(ip: Option<IpAddr>) -> String {
    ip.map(|ip| ip.to_string()).unwrap_or_default()
}

impl Job for SyncDyndns {
    fn task_type(&self) -> &'static str {
        "syncDyndns"
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(300)
    }

    fn args(&self) -> Value {
        json!({ "from": self.from, "to": self.to })
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        let (ipv4, ipv6) = (text(self.to.ipv4), text(self.to.ipv6));
        ctx.progress(
            10,
            &format!(
                "IPv4 {} -> {ipv4}, IPv6 {} -> {ipv6}",
                text(self.from.ipv4),
                text(self.from.ipv6)
            ),
        )
        .await?;
        match &self.command {
            Some(command) => {
                ctx.progress(30, "Running the DNS command").await?;
                let env = [
                    ("BOXD_IPV4", ipv4.as_str()),
                    ("BOXD_IPV6", ipv6.as_str()),
                    ("BOXD_DOMAIN", self.domain.as_str()),
                ];
                ctx.run_command(command, &env).await?;
            }
            None => {
                ctx.log("No DNS command is set (--dyndns-command): the change is only recorded")
            }
        }
        let data = json!({
            "fromIp": self.from.ipv4, "toIp": self.to.ipv4,
            "fromIpv6": self.from.ipv6, "toIpv6": self.to.ipv6,
        });
        let mut tx = store::begin_write(&self.db).await?;
        eventlog::record(
            &mut *tx,
            Action::DyndnsUpdate,
            &Source::system("cron"),
            data.clone(),
        )
        .await?;
        settings::set(&mut *tx, &self.to).await?;
        tx.commit().await?;
        Ok(data)
    }
}
