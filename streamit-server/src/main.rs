//! `streamit-server`: reads the settings, starts logging, binds, and serves until Ctrl-C or
//! SIGTERM.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser as _;
use streamit_server::{Config, LogFormat, run};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

#[tokio::main]
async fn main() -> ExitCode {
    match serve().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Said once, cause included; a setting an operator got wrong needs no backtrace.
            eprintln!("streamit-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = config
        .log
        .clone()
        .or_else(|| std::env::var("RUST_LOG").ok())
        .unwrap_or_else(|| "info".to_owned());
    let names_sqlx = filter.contains("sqlx");
    let filter =
        EnvFilter::try_new(&filter).with_context(|| format!("bad log filter {filter:?}"))?;
    let filter = database_notices_when_debugging(filter, names_sqlx);
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        // Colour only for a person at a terminal: log files and journald get plain text.
        LogFormat::Text => logs
            .with_ansi(std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            .init(),
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
    raise_open_files_limit();
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    run(listener, config, shutdown)
        .await
        .context("cannot start")
}

/// PostgreSQL's notices ("relation already exists, skipping" on every start) reach the log
/// through sqlx at info, where they read like news to an operator; they are shown only when
/// the filter asks for debug lines somewhere, or says what it wants of sqlx itself.
fn database_notices_when_debugging(filter: EnvFilter, names_sqlx: bool) -> EnvFilter {
    let debugging = filter
        .max_level_hint()
        .is_none_or(|level| level >= LevelFilter::DEBUG);
    if debugging || names_sqlx {
        return filter;
    }
    match "sqlx::postgres::notice=warn".parse() {
        Ok(quiet) => filter.add_directive(quiet),
        Err(_) => filter,
    }
}

/// Every socket is an open file. The soft limit is often 1 024, which would turn clients away
/// at about a thousand sockets, while the hard limit allows far more: the server takes it all.
fn raise_open_files_limit() {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files allowed, one per socket"),
        Err(error) => tracing::warn!(%error, "cannot raise the open-file limit"),
    }
}

/// Cancels `shutdown` on the first Ctrl-C or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
                    let _ = ctrl_c.await;
                    shutdown.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
    shutdown.cancel();
}
