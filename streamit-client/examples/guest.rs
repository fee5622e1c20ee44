//! A guest joins a room by its code and prints what happens in it until Ctrl-C, reading the
//! room (names, who is online, who hosts, where the media is) from a [`RoomView`].
//!
//! ```text
//! cargo run -p streamit-client --example guest -- ROOMCODE [NAME]
//! ```
//!
//! The server is `STREAMIT_URL` (default `http://127.0.0.1:8000`).

use std::error::Error;
use std::process::ExitCode;

use streamit_client::protocol::v1::{DisplayName, RoomCode, ServerEvent};
use streamit_client::{Client, RoomEvent, RoomSession, RoomView};

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
    let mut view = None;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Ctrl-C closes the session once; the events then run out and the loop ends.
    let mut closing = false;
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    RoomView::follow(&mut view, &event);
                    match &view {
                        Some(view) => print_event(&session, view, &event),
                        None if event == RoomEvent::Connected => println!("connected"),
                        None => println!("{event:?}"),
                    }
                }
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

/// One line per event, told from the room as it stands after it.
fn print_event(session: &RoomSession, view: &RoomView, event: &RoomEvent) {
    let online = view.members().iter().filter(|m| m.online).count();
    match event.server_event() {
        Some(ServerEvent::RoomSnapshot(_)) => println!(
            "in room {} ({:?}), {online} of {} members online, hosted by {}, {} chat lines",
            view.code(),
            view.room().state,
            view.members().len(),
            view.room().host.display_name.as_str(),
            view.chat().len()
        ),
        Some(ServerEvent::ChatMessage(line)) => println!(
            "<{}> {}",
            line.user.display_name.as_str(),
            line.text.as_str()
        ),
        Some(ServerEvent::PlaybackState(state)) => {
            let now = view.playback().position_at(session.now_server_ms());
            println!(
                "{:?}: {} at {} ms, rate {} (expected now: {} ms)",
                state.cause,
                if view.playback().playing {
                    "playing"
                } else {
                    "paused"
                },
                view.playback().position_ms.get(),
                view.playback().rate.get(),
                now.get()
            );
        }
        Some(ServerEvent::UserJoined(joined)) => println!(
            "{} joined ({online} online)",
            joined.user.display_name.as_str()
        ),
        Some(ServerEvent::UserLeft(left)) => println!(
            "{} left ({:?}; {online} online)",
            left.user.display_name.as_str(),
            left.reason
        ),
        Some(ServerEvent::HostChanged(_)) => println!(
            "{} hosts now{}",
            view.room().host.display_name.as_str(),
            if view.is_host() { " (you)" } else { "" }
        ),
        Some(ServerEvent::HostDisconnected(_)) => println!(
            "the host left; the room closes at {:?} (server ms) unless they return",
            view.room().grace_deadline_ms
        ),
        Some(ServerEvent::Error(error)) => println!("refused: {} {}", error.code, error.message),
        Some(other) => println!("{}", other.event_type()),
        None if *event == RoomEvent::Connected => {
            println!("connected (server clock so far: {:?})", session.clock())
        }
        None => println!("{event:?}"),
    }
}
