use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use boxd::config::{BackupArgs, Cli, Command, Config, HealthcheckArgs, RestoreArgs, ServeArgs};
use boxd::{admin, app, state, store, telemetry};
use clap::Parser;
use tokio::net::TcpListener;

// glibc's malloc keeps the memory of bursts (argon2's blocks, many connections) for the
// life of the process; mimalloc hands freed pages back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The data dir holds TOTP secrets, settings secrets and backups: for this user only.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    boxd::install_crypto_provider();
    let outcome = match cli.command {
        Command::Openapi => {
            print!("{}", app::openapi_json());
            Ok(())
        }
        Command::Serve(args) => runtime().and_then(|rt| rt.block_on(serve(*args))),
        Command::Admin(args) => runtime().and_then(|rt| rt.block_on(admin::run(args))),
        Command::Healthcheck(args) => runtime().and_then(|rt| rt.block_on(healthcheck(args))),
        Command::Backup(args) => runtime().and_then(|rt| rt.block_on(backup(args))),
        Command::Restore(args) => runtime().and_then(|rt| rt.block_on(restore(args))),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("boxd: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(&args)?;
    let logs = telemetry::init(config.log_format, Some(&config.data_dir))
        .context("cannot open the log file in the data dir")?;
    app::raise_open_files_limit();
    let listen = config.listen;
    let state = state::AppState::start(config, logs.box_log()).await?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let served = app::run(state, listener, shutdown_signal()).await;
    let dropped = logs.dropped();
    drop(logs);
    if dropped > 0 {
        eprintln!("boxd: {dropped} log lines were dropped: the log output could not keep up");
    }
    served
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let db = store::open_existing(&args.store.database_url()?).await?;
    let outcome = store::backup(&db, &args.out).await;
    db.close().await;
    outcome?;
    println!("backed up to {}", args.out.display());
    Ok(())
}

async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let dir = &args.store.data_dir;
    // Restoring over a live or half-kept data dir would mix two histories (task logs, images).
    if let Ok(mut entries) = std::fs::read_dir(dir) {
        anyhow::ensure!(
            entries.next().is_none(),
            "the data dir {} is not empty: restore only into an empty or new one",
            dir.display()
        );
    }
    let (_, url) = args.store.resolve()?;
    store::restore(&args.from, &url).await?;
    println!(
        "restored {} into {}; start boxd serve on it",
        args.from.display(),
        dir.display()
    );
    Ok(())
}

async fn healthcheck(args: HealthcheckArgs) -> anyhow::Result<()> {
    let url = args.url.unwrap_or_else(|| {
        let mut addr = args.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                [127, 0, 0, 1].into()
            } else {
                [0u16, 0, 0, 0, 0, 0, 0, 1].into()
            });
        }
        format!("http://{addr}/api/v1/cloudron/status")
    });
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{url} answered {}",
        response.status()
    );
    Ok(())
}
