//! A guest joins a room by its code and tells what happens in it until Ctrl-C, reading the
//! room (names, who is online, who hosts, where the media is) from a [`RoomView`].
//!
//! ```text
//! cargo run -p streamit-client --example guest -- ROOMCODE [NAME]
//! ```
//!
//! The server is `STREAMIT_URL` (default `http://127.0.0.1:8000`).

#[path = "support/words.rs"]
mod words;

use std::error::Error;
use std::process::ExitCode;

use streamit_client::protocol::v1::{DisplayName, RoomCode};
use streamit_client::{Client, RoomView};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", words::report(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let code = args.next().ok_or("usage: guest ROOMCODE [NAME]")?;
    let code = RoomCode::parse(&code)?;
    let name = args
        .next()
        .map(|name| DisplayName::new(&name))
        .transpose()?;
    let url = std::env::var("STREAMIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8000".into());

    let client = Client::builder(url).build()?;
    let signed_in = client.guest(name).await?;
    println!("signed in as {}", signed_in.user.display_name.as_str());
    let (session, mut events) = client.join_room(code).await?;
    let mut view = None;
    // Pinned once and polled until it fires; after that its branch is off (`if !closing`),
    // as polling a finished `ctrl_c()` again panics.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut closing = false;
    // Ctrl-C closes the session; its last events (the final `Disconnected`) still come, then
    // the stream ends and so does the loop.
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                RoomView::follow(&mut view, &event);
                if let Some(line) = words::describe(view.as_ref(), &event, session.now_server_ms()) {
                    println!("{line}");
                }
            }
            signal = &mut ctrl_c, if !closing => {
                closing = true;
                if let Err(error) = signal {
                    eprintln!("cannot listen for Ctrl-C ({error}); leaving the room");
                }
                println!("leaving the room…");
                session.close().await;
            }
        }
    }
    Ok(())
}
