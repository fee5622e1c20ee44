//! A guest joins a room by its code and prints what happens in it until Ctrl-C.
//!
//! ```text
//! cargo run -p streamit-client --example guest -- ROOMCODE [NAME]
//! ```
//!
//! The server is `STREAMIT_URL` (default `http://127.0.0.1:8000`).

use std::error::Error;
use std::process::ExitCode;

use streamit_client::protocol::v1::{DisplayName, RoomCode, ServerEvent};
use streamit_client::{Client, RoomEvent, RoomSession};

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
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
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Ctrl-C closes the session once; the events then run out and the loop ends.
    let mut closing = false;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => print_event(&session, &event),
                None => break,
            },
            _ = &mut ctrl_c, if !closing => {
                closing = true;
                session.close().await;
            }
        }
    }
    Ok(())
}

/// One line per event, with where the media should be after playback changes.
fn print_event(session: &RoomSession, event: &RoomEvent) {
    match event {
        RoomEvent::Server(message) => match &message.event {
            ServerEvent::RoomSnapshot(snapshot) => println!(
                "in room {} ({:?}), {} here, hosted by {}",
                snapshot.room.code,
                snapshot.room.state,
                snapshot.room.viewers,
                snapshot.room.host.display_name.as_str()
            ),
            ServerEvent::ChatMessage(line) => {
                println!(
                    "<{}> {}",
                    line.user.display_name.as_str(),
                    line.text.as_str()
                );
            }
            ServerEvent::PlaybackState(state) => println!(
                "{:?}: {} at {} ms, rate {} (expected now: {:?} ms)",
                state.cause,
                if state.playback.playing {
                    "playing"
                } else {
                    "paused"
                },
                state.playback.position_ms.get(),
                state.playback.rate.get(),
                session.expected_position_ms()
            ),
            ServerEvent::UserJoined(joined) => {
                println!("{} joined", joined.user.display_name.as_str());
            }
            ServerEvent::UserLeft(left) => {
                println!(
                    "{} left ({:?})",
                    left.user.display_name.as_str(),
                    left.reason
                );
            }
            ServerEvent::Error(error) => println!("refused: {} {}", error.code, error.message),
            other => println!("{}", other.event_type()),
        },
        RoomEvent::Connected => println!(
            "connected (clock offset so far: {:?} ms)",
            session.clock_offset_ms()
        ),
        other => println!("{other:?}"),
    }
}
