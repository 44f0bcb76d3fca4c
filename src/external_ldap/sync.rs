//! The `syncExternalLdap` task: bind with the service account, read every user entry (paged),
//! and bring the store in line: add the missing users, update changed emails and display names,
//! deactivate those gone and reactivate those back; then the groups ([`super::groups`]). Users
//! made here are never touched: a directory entry with their username or email is skipped.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ldap3::SearchEntry;
use serde::Serialize;
use serde_json::Value;
use sqlx::SqlitePool;

use super::client::{MAX_ENTRIES, first_value};
use super::{SOURCE, connect, groups, user_filter};
use crate::auth::cache::AuthCache;
use crate::eventlog::Source;
use crate::outbound::redact;
use crate::settings::ExternalLdapConfig;
use crate::store;
use crate::store::users::UserRow;
use crate::tasks::{Job, TaskContext};
use crate::users::{self, Accounts, DirectoryPerson, UserError, rules};

/// Display names are cut to what accounts allow.
const MAX_DISPLAY_NAME_CHARS: usize = 512;

pub struct SyncExternalLdap {
    pub(super) db: SqlitePool,
    pub(super) sessions: Arc<AuthCache>,
    pub(super) config: ExternalLdapConfig,
    pub(super) timeout: Duration,
    /// Who started it (an admin, or `cron`).
    pub(super) source: Source,
}

/// The task's result.
#[derive(Debug, Default, Serialize)]
struct Tally {
    added: u64,
    updated: u64,
    deactivated: u64,
    skipped: u64,
}

/// A user entry of the directory, read.
pub(super) struct Person {
    pub dn: String,
    pub username: String,
    /// `None` when the entry has no valid `mail`: it is skipped, yet counts as present.
    pub email: Option<String>,
    pub display_name: String,
}

impl Job for SyncExternalLdap {
    fn task_type(&self) -> &'static str {
        "syncExternalLdap"
    }

    fn time_limit(&self) -> Duration {
        Duration::from_secs(3600)
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        let config = &self.config;
        let started_by = self.source.username.as_deref().unwrap_or("an admin");
        ctx.log(&format!("Sync started by {started_by}"));
        ctx.progress(5, &format!("Connecting to {}", redact(&config.url)))
            .await?;
        let mut connection = connect(config, self.timeout).await?;
        let filter = user_filter(config);
        ctx.progress(10, &format!("Searching {} for {filter}", config.base_dn))
            .await?;
        let attrs = [config.username_field.as_str(), "mail", "displayName", "cn"];
        let entries = connection
            .search(&config.base_dn, &filter, &attrs, MAX_ENTRIES)
            .await?;
        ctx.log(&format!("Found {} user entries", entries.len()));
        let mut tally = Tally::default();
        let people = read_people(&ctx, &entries, &config.username_field, &mut tally);
        let synced = self.apply(&ctx, &people, &mut tally).await?;
        if !config.group_base_dn.is_empty() {
            ctx.progress(
                85,
                &format!("Searching {} for groups", config.group_base_dn),
            )
            .await?;
            let members = groups::Members::new(&people, &synced);
            groups::sync(
                &ctx,
                &mut connection,
                &self.db,
                &config.group_base_dn,
                &members,
            )
            .await?;
        }
        let Tally {
            added,
            updated,
            deactivated,
            skipped,
        } = tally;
        let summary = format!(
            "Synced: {added} added, {updated} updated, {deactivated} deactivated, {skipped} skipped"
        );
        ctx.log(&summary);
        tracing::info!(task.id = ctx.id(), "external LDAP: {summary}");
        Ok(serde_json::to_value(tally)?)
    }
}

impl SyncExternalLdap {
    /// Applies the directory's people to the store, one change per transaction; answers the
    /// ids of the directory's users that are present and active now, by username.
    async fn apply(
        &self,
        ctx: &TaskContext,
        people: &[Person],
        tally: &mut Tally,
    ) -> anyhow::Result<HashMap<String, String>> {
        let existing = store::users::list_all(&self.db).await?;
        let by_username: HashMap<&str, &UserRow> = existing
            .iter()
            .filter_map(|user| Some((user.username.as_deref()?, user)))
            .collect();
        let by_email: HashMap<&str, &str> = existing
            .iter()
            .map(|user| (user.email.as_str(), user.id.as_str()))
            .collect();
        let mut synced = HashMap::new();
        for (done, person) in people.iter().enumerate() {
            if done % 100 == 0 {
                let percent = 10 + 70 * done / people.len().max(1);
                let message = format!("Syncing users: {done} of {}", people.len());
                ctx.progress(u8::try_from(percent).unwrap_or(80), &message)
                    .await?;
            }
            let (dn, username) = (&person.dn, person.username.as_str());
            let Some(email) = person.email.as_deref() else {
                tally.skipped += 1;
                ctx.log(&format!("Skipped {dn}: no valid mail"));
                continue;
            };
            let outcome = match by_username.get(username) {
                Some(user) if user.source != SOURCE => Err(format!(
                    "the local user {username} has this username; left alone"
                )),
                Some(user) if by_email.get(email).is_some_and(|id| *id != user.id) => {
                    Err(format!("{email} is the email of another user"))
                }
                Some(user) => self.update(ctx, user, person, email, tally).await?,
                None if by_email.contains_key(email) => {
                    Err(format!("{email} is the email of another user; left alone"))
                }
                None => self.add(ctx, person, email, tally).await?,
            };
            match outcome {
                Ok(id) => {
                    synced.insert(person.username.clone(), id);
                }
                Err(why) => {
                    tally.skipped += 1;
                    ctx.log(&format!("Skipped {dn}: {why}"));
                    tracing::warn!("external LDAP sync skipped {dn}: {why}");
                }
            }
        }
        let present: HashSet<&str> = people.iter().map(|p| p.username.as_str()).collect();
        let accounts = self.accounts();
        for user in &existing {
            let username = user.username.as_deref().unwrap_or_default();
            if user.source == SOURCE && user.active && !present.contains(username) {
                users::set_active_from_directory(accounts, &user.id, false, &events()).await?;
                tally.deactivated += 1;
                ctx.log(&format!("Deactivated {username}: gone from the directory"));
            }
        }
        Ok(synced)
    }

    /// A user of the directory already here: reactivated if needed, email and display name
    /// brought up to date. Answers the user's id, or why the entry is skipped.
    async fn update(
        &self,
        ctx: &TaskContext,
        user: &UserRow,
        person: &Person,
        email: &str,
        tally: &mut Tally,
    ) -> anyhow::Result<Result<String, String>> {
        let (username, source) = (&person.username, events());
        let accounts = self.accounts();
        let mut changed = false;
        if !user.active {
            users::set_active_from_directory(accounts, &user.id, true, &source).await?;
            ctx.log(&format!("Reactivated {username}: back in the directory"));
            changed = true;
        }
        if user.email != email || user.display_name != person.display_name {
            let update = users::update_from_directory(
                accounts,
                &user.id,
                email,
                &person.display_name,
                &source,
            );
            match update.await {
                Ok(()) => ctx.log(&format!(
                    "Updated {username}: {email}, {:?}",
                    person.display_name
                )),
                Err(UserError::Conflict(why) | UserError::Invalid(why)) => return Ok(Err(why)),
                Err(err) => return Err(err.into()),
            }
            changed = true;
        }
        if changed {
            tally.updated += 1;
        }
        Ok(Ok(user.id.clone()))
    }

    /// A new user from the directory. Answers the id, or why the entry is skipped.
    async fn add(
        &self,
        ctx: &TaskContext,
        person: &Person,
        email: &str,
        tally: &mut Tally,
    ) -> anyhow::Result<Result<String, String>> {
        let new = DirectoryPerson {
            username: &person.username,
            email,
            display_name: &person.display_name,
        };
        match users::add_from_directory(self.accounts(), SOURCE, new, &events()).await {
            Ok(id) => {
                tally.added += 1;
                ctx.log(&format!("Added {} ({email})", person.username));
                Ok(Ok(id))
            }
            Err(UserError::Conflict(why) | UserError::Invalid(why)) => Ok(Err(why)),
            Err(err) => Err(err.into()),
        }
    }

    fn accounts(&self) -> Accounts<'_> {
        Accounts {
            db: &self.db,
            sessions: &self.sessions,
        }
    }
}

/// The source of the sync's events.
fn events() -> Source {
    Source::system(SOURCE)
}

/// The entries as people; those without a valid username are skipped (and counted).
fn read_people(
    ctx: &TaskContext,
    entries: &[SearchEntry],
    username_field: &str,
    tally: &mut Tally,
) -> Vec<Person> {
    let mut people = Vec::with_capacity(entries.len());
    let mut seen = HashSet::new();
    for entry in entries {
        let dn = &entry.dn;
        let username = match first_value(entry, username_field).map(rules::normalize_username) {
            Some(Ok(username)) if seen.insert(username.clone()) => username,
            Some(Ok(username)) => {
                skip(
                    ctx,
                    tally,
                    dn,
                    &format!("another entry has the username {username}"),
                );
                continue;
            }
            Some(Err(why)) => {
                skip(ctx, tally, dn, &format!("{username_field}: {why}"));
                continue;
            }
            None => {
                skip(ctx, tally, dn, &format!("no {username_field}"));
                continue;
            }
        };
        let email =
            first_value(entry, "mail").and_then(|mail| rules::normalize_email("mail", mail).ok());
        let display_name = first_value(entry, "displayName")
            .or_else(|| first_value(entry, "cn"))
            .unwrap_or_default()
            .chars()
            .take(MAX_DISPLAY_NAME_CHARS)
            .collect();
        people.push(Person {
            dn: dn.clone(),
            username,
            email,
            display_name,
        });
    }
    people
}

fn skip(ctx: &TaskContext, tally: &mut Tally, dn: &str, why: &str) {
    tally.skipped += 1;
    ctx.log(&format!("Skipped {dn}: {why}"));
}
