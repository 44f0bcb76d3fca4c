//! `boxd admin ...`: operator commands that work on the data dir directly. SQLite's WAL lets
//! them run while the server is up.

use std::io::Write;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::{Context, bail};
use sqlx::SqlitePool;

use crate::auth::cache::AuthCache;
use crate::auth::sessions::{self, TokenSpec};
use crate::auth::{API_TOKEN_LIFETIME_MS, CLIENT_SDK, Scope};
use crate::clock::now_ms;
use crate::config::{AdminArgs, AdminCommand};
use crate::eventlog::Source;
use crate::store;
use crate::users::{self, Accounts, NewOwner, UserError};

pub async fn run(args: AdminArgs) -> anyhow::Result<()> {
    let (_, url) = args.store.resolve()?;
    let db = store::connect(&url).await?;
    let outcome = match args.command {
        AdminCommand::CreateOwner {
            username,
            email,
            display_name,
            password_file,
        } => {
            let password = read_password(password_file.as_deref())?;
            create_owner(&db, &username, &email, display_name, password).await
        }
        AdminCommand::ResetPassword {
            username,
            password_file,
        } => {
            let password = read_password(password_file.as_deref())?;
            reset_password(&db, &username, password).await
        }
        AdminCommand::CreateToken {
            username,
            name,
            readonly,
        } => create_token(&db, &username, &name, readonly).await,
        AdminCommand::ListUsers => list_users(&db).await,
    };
    db.close().await;
    outcome
}

async fn create_owner(
    db: &SqlitePool,
    username: &str,
    email: &str,
    display_name: String,
    password: String,
) -> anyhow::Result<()> {
    let owner = NewOwner::new(username, email, display_name, password)?;
    let name = owner.username.clone();
    let (user, _) =
        match users::create_owner(offline(db), owner, &Source::system("sysadmin"), None).await {
            Err(UserError::AlreadySetup) => bail!("an owner already exists"),
            other => other?,
        };
    println!("created the owner {name} ({})", user.id);
    Ok(())
}

/// Sets the password and ends the user's dashboard sessions; API tokens stay valid.
async fn reset_password(db: &SqlitePool, username: &str, password: String) -> anyhow::Result<()> {
    let user = store::users::find_by_username(db, username)
        .await?
        .with_context(|| format!("no user named {username}"))?;
    users::reset_password(offline(db), &user.id, password).await?;
    println!("password of {username} changed; their login sessions were ended");
    Ok(())
}

async fn create_token(
    db: &SqlitePool,
    username: &str,
    name: &str,
    readonly: bool,
) -> anyhow::Result<()> {
    let user = store::users::find_by_username(db, username)
        .await?
        .with_context(|| format!("no user named {username}"))?;
    if !user.active {
        bail!("{username} is not active");
    }
    let scope = if readonly {
        Scope::read_only()
    } else {
        Scope::full()
    };
    let spec = TokenSpec {
        user_id: &user.id,
        name,
        client_id: CLIENT_SDK,
        scope: &scope,
        expires: now_ms() + API_TOKEN_LIFETIME_MS,
    };
    let issued = sessions::issue_token(db, &spec).await?;
    println!("{}", issued.secret);
    Ok(())
}

async fn list_users(db: &SqlitePool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{:<42} {:<20} {:<32} {:<12} active",
        "id", "username", "email", "role"
    )?;
    for user in store::users::list_all(db).await? {
        let username = user.username.as_deref().unwrap_or("-");
        let role = user.role.as_str();
        writeln!(
            out,
            "{:<42} {username:<20} {:<32} {role:<12} {}",
            user.id, user.email, user.active
        )?;
    }
    Ok(())
}

/// Accounts as the CLI changes them: the server's authentication cache is in another process,
/// which notices changes to the store by itself (`store::Revision`).
fn offline(db: &SqlitePool) -> Accounts<'_> {
    static NO_CACHE: LazyLock<AuthCache> = LazyLock::new(AuthCache::default);
    Accounts {
        db,
        sessions: &NO_CACHE,
    }
}

/// The first line of `file`, or a password typed twice at the terminal.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the password file {}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_owned());
    }
    let password = rpassword::prompt_password("Password: ")
        .context("cannot prompt for a password (no terminal?); use --password-file")?;
    let again = rpassword::prompt_password("Password again: ")?;
    if password != again {
        bail!("the passwords differ");
    }
    Ok(password)
}
