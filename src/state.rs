//! `AppState`: what every request and job can reach, and its construction at start-up.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono_tz::Tz;
use serde_json::json;
use sqlx::SqlitePool;
use tokio::sync::{Semaphore, watch};
use tokio_util::sync::CancellationToken;

use crate::auth::cache::AuthCache;
use crate::auth::last_used::LastUsed;
use crate::auth::login::Verifier;
use crate::auth::throttle::Throttle;
use crate::certs::Certs;
use crate::config::Config;
use crate::eventlog::{self, Action, Source};
use crate::external_ldap::ExternalLdap;
use crate::images::UPLOAD_SLOTS;
use crate::ldap::Directory;
use crate::mail::Mailer;
use crate::network::{Network, Policy};
use crate::outbound::{Guard, Guarded};
use crate::settings::{self, Blocklist, DirectoryServerConfig, Settings, TimeZone, TrustedIps};
use crate::store::{self, Revision};
use crate::tasks::TaskRunner;
use crate::tasks::log::LiveLog;
use crate::tasks::stream::StreamLimits;
use crate::updater;
use crate::updater::Updater;
use crate::updater::schedule::AutoupdatePattern;
use crate::users::{Accounts, Activation, Links};

/// What every handler and job shares. One `Arc`: the router clones the state for each request,
/// and one reference count is cheaper than one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub struct Shared {
    pub db: SqlitePool,
    pub config: Arc<Config>,
    /// The platform settings, in memory.
    pub settings: Arc<Settings>,
    /// Token hash → token and user: authenticated requests read no store.
    pub auth_cache: Arc<AuthCache>,
    /// Whether the owner exists; once it does, it always will.
    pub activation: Arc<Activation>,
    /// Moves when another process commits to the store; the caches are cleared then.
    pub revision: Arc<Revision>,
    pub last_used: Arc<LastUsed>,
    pub throttle: Arc<Throttle>,
    pub network: Arc<Network>,
    /// The zone schedules run in; subscribers see changes at once.
    pub time_zone: Arc<watch::Sender<Tz>>,
    /// For outbound calls (address detection, release feeds).
    pub http: Guarded,
    pub tasks: TaskRunner,
    pub log_streams: Arc<StreamLimits>,
    pub updater: Updater,
    /// The automatic update pattern; the schedule re-plans when it changes.
    pub autoupdate_pattern: Arc<watch::Sender<String>>,
    /// The ACME transport and the challenge answers being served.
    pub certs: Certs,
    /// The directory server's setting (applied at once) and its listening addresses.
    pub directory_server: Arc<Directory>,
    /// Image uploads read at once.
    pub upload_slots: Arc<Semaphore>,
    /// The external directory whose users sign in with their password there.
    pub external_ldap: ExternalLdap,
    /// The outgoing mail queue.
    pub mailer: Mailer,
    /// boxd's own log (`<data-dir>/logs/box.log`) while this process writes it.
    pub box_log: Option<Arc<LiveLog>>,
    /// Cancelled on shutdown: streams end, tasks stop, background jobs end.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Where account changes go: the store and the authentication cache they invalidate.
    pub fn accounts(&self) -> Accounts<'_> {
        Accounts {
            db: &self.db,
            sessions: &self.auth_cache,
        }
    }

    /// Where credentials are checked.
    pub fn verifier(&self) -> Verifier<'_> {
        Verifier {
            db: &self.db,
            throttle: &self.throttle,
            directory: &self.external_ldap,
        }
    }

    /// Where invite and reset links are made, mailed and used.
    pub fn links(&self) -> Links {
        Links {
            db: self.db.clone(),
            sessions: self.auth_cache.clone(),
            clock: self.config.clock.clone(),
            domain: self.config.domain.as_str().into(),
            mailer: self.mailer.clone(),
            settings: self.settings.clone(),
            throttle: self.throttle.clone(),
        }
    }

    /// Opens the store (running migrations) and records `cloudron.start`. `box_log` is boxd's
    /// own log file, when this process writes one.
    pub async fn start(config: Config, box_log: Option<Arc<LiveLog>>) -> anyhow::Result<Self> {
        // A bad --acme-ca-file stops the start before anything is recorded.
        let certs = Certs::new(&config.certs)?;
        let db = store::connect(&config.database_url).await?;
        let data = json!({ "version": env!("CARGO_PKG_VERSION") });
        eventlog::record(&db, Action::CloudronStart, &Source::system("boot"), data).await?;
        updater::note_started_version(&db).await?;
        let activation = Activation::default();
        if !activation.is_done(&db).await? {
            tracing::warn!(
                "boxd is not activated: POST /api/v1/provision/activate creates the owner account"
            );
        }
        let TrustedIps(trusted) = settings::get(&db).await?;
        let Blocklist(blocklist) = settings::get(&db).await?;
        let network = Network::new(Policy::parse(
            &trusted,
            &blocklist,
            config.trust_loopback_proxy,
        )?);
        let TimeZone(zone) = settings::get(&db).await?;
        // The detection endpoints are the operator's; where they redirect is checked.
        let detection = Guard::trusting(&[&config.ipv4_detect_url, &config.ipv6_detect_url]);
        let http = Guarded::new(
            reqwest::Client::builder().connect_timeout(Duration::from_secs(5)),
            detection,
        )
        .context("cannot build the HTTP client")?;
        let AutoupdatePattern(pattern) = settings::get(&db).await?;
        let directory_server: DirectoryServerConfig = settings::get(&db).await?;
        let shutdown = CancellationToken::new();
        let logs_dir = config.data_dir.join("logs").join("tasks");
        let tasks = TaskRunner::new(
            db.clone(),
            logs_dir,
            config.max_running_tasks,
            shutdown.clone(),
        )
        .await?;
        let revision = Revision::open(&config.database_url).await?;
        let settings = Arc::new(Settings::new(db.clone()));
        Ok(Self(Arc::new(Shared {
            external_ldap: ExternalLdap::new(settings.clone(), &config.external_ldap),
            settings,
            auth_cache: Arc::default(),
            activation: Arc::new(activation),
            revision: Arc::new(revision),
            db,
            certs,
            tasks,
            updater: Updater::new(config.update.feed_url.as_deref())?,
            autoupdate_pattern: Arc::new(watch::Sender::new(pattern)),
            directory_server: Arc::new(Directory::new(directory_server)),
            mailer: Mailer::new(config.mail.clone()),
            box_log,
            log_streams: StreamLimits::new(config.max_log_streams, config.max_log_streams_per_user),
            throttle: Arc::new(Throttle::new(config.clock.clone())),
            config: Arc::new(config),
            last_used: Arc::default(),
            network: Arc::new(network),
            time_zone: Arc::new(watch::Sender::new(zone)),
            http,
            upload_slots: Arc::new(Semaphore::new(UPLOAD_SLOTS)),
            shutdown,
        })))
    }
}
