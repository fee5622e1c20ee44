//! `streamit`: the StreamIt terminal client. Without a command it opens the menu; `host`
//! and `watch` open a room; the other commands are headless, for scripts.
//!
//! Modules: `cli` (the command line), `account` (the signed-in client and its stored
//! login), `credentials` (the profile files), `headless` (the JSON commands), `app` (the
//! terminal client as a state machine), `ui` (drawing it), `keys` (the one key table),
//! `bench` (the load bots), `check` (the conformance suite), `driver` (the I/O loop around the app), `terminal` (borrowing the terminal and giving it
//! back), `label` (times and media in text), `words` (protocol codes in words), `failure`
//! (what commands fail with).

mod account;
mod app;
mod bench;
mod check;
mod cli;
mod credentials;
mod driver;
mod failure;
mod headless;
mod keys;
mod label;
mod terminal;
mod ui;
mod words;

use std::process::ExitCode;

use clap::Parser as _;
use serde_json::json;

use crate::account::Account;
use crate::cli::{Cli, Command, Global};
use crate::driver::Start;
use crate::failure::Failure;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let global = cli.global;
    let result = match cli.command {
        None => terminal(&global, Ok(Start::Menu)).await,
        Some(Command::Host(options)) => terminal(&global, options.request().map(Start::Host)).await,
        Some(Command::Watch(target)) => {
            let start = target
                .parse()
                .map(|(code, password)| Start::Watch(code, password));
            terminal(&global, start).await
        }
        Some(Command::Bench(args)) => {
            return match bench::run(&global.server, args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("streamit bench: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Some(Command::Check(args)) => {
            let report = check::run(&args).await;
            if global.json {
                println!("{}", report.json());
            } else {
                println!("{}", report.text());
            }
            return if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
        }
        Some(Command::Headless(command)) => match headless::run(&global, command).await {
            Ok(answer) => {
                if global.json {
                    println!("{}", answer.json);
                } else {
                    println!("{}", answer.text);
                }
                Ok(())
            }
            Err(failure) => Err(failure),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            if global.json {
                let error =
                    json!({ "error": { "code": failure.code(), "message": failure.to_string() } });
                println!("{error}");
            }
            eprintln!("streamit: {failure}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the terminal client at `start`.
async fn terminal(global: &Global, start: Result<Start, Failure>) -> Result<(), Failure> {
    let start = start?;
    let account = Account::open(&global.server, &global.profile)?;
    driver::run(account, global.name.clone(), &global.server, start).await
}
