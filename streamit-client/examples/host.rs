//! A guest creates a room, hosts it, and drives playback on a timer (play, pause, seek
//! ahead, play …) while printing what happens, until Ctrl-C. What it knows of the room (is
//! there media yet, is it connected, does it still host) it reads from a [`RoomView`].
//!
//! ```text
//! cargo run -p streamit-client --example host -- [NAME]
//! ```
//!
//! The server is `STREAMIT_URL` (default `http://127.0.0.1:8000`). Others join with the
//! code it prints (see the `guest` example).

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use streamit_client::protocol::v1::{
    CreateRoomRequest, DisplayName, MediaKind, MediaRef, PositionMs, Provider, ServerEvent,
};
use streamit_client::{Client, RoomEvent, RoomSession, RoomView};

/// Time between two playback actions.
const STEP: Duration = Duration::from_secs(8);

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
    let name = std::env::args()
        .nth(1)
        .map(|name| DisplayName::new(&name))
        .transpose()?;
    let url = std::env::var("STREAMIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8000".into());

    let client = Client::builder(url).build()?;
    client.guest(name).await?;
    let created = client.create_room(&CreateRoomRequest::default()).await?;
    let code = created.room.code;
    println!("room {code} created: join it with `--example guest -- {code}`");
    let (session, mut events) = client.join_room(code).await?;

    let mut view: Option<RoomView> = None;
    let mut ticker = tokio::time::interval(STEP);
    let mut step = 0_u32;
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    // Ctrl-C closes the session once; the events then run out and the loop ends.
    let mut closing = false;
    loop {
        let hosting = view
            .as_ref()
            .is_some_and(|v| v.is_connected() && v.is_host());
        tokio::select! {
            event = events.recv() => match event {
                Some(event) => {
                    RoomView::follow(&mut view, &event);
                    if let Some(view) = &view {
                        on_event(&session, view, &event).await?;
                    }
                }
                None => break,
            },
            _ = ticker.tick(), if hosting => {
                if let Some(view) = &view {
                    if let Err(error) = act(&session, view, step).await {
                        println!("could not act: {error}");
                    }
                }
                step += 1;
            }
            _ = &mut ctrl_c, if !closing => {
                closing = true;
                session.close().await;
            }
        }
    }
    Ok(())
}

/// Prints the event; on a snapshot of a room with nothing to play, picks a film.
async fn on_event(
    session: &RoomSession,
    view: &RoomView,
    event: &RoomEvent,
) -> Result<(), Box<dyn Error>> {
    if event.snapshot().is_some() {
        println!(
            "connected: {} members, {} online",
            view.members().len(),
            view.room().viewers
        );
        if view.room().media.is_none() && view.is_host() {
            let movie =
                MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None)?;
            session.set_media(movie).await?;
        }
        return Ok(());
    }
    print_event(view, event);
    Ok(())
}

/// The next playback action in the cycle play → pause → seek 60 s ahead → play ….
async fn act(session: &RoomSession, view: &RoomView, step: u32) -> Result<(), Box<dyn Error>> {
    let here = view.playback().position_at(session.now_server_ms()).get();
    match step % 3 {
        0 => session.play(None).await?,
        1 => session.pause(None).await?,
        _ => session.seek(PositionMs::saturating(here + 60_000)).await?,
    };
    Ok(())
}

fn print_event(view: &RoomView, event: &RoomEvent) {
    match event.server_event() {
        Some(ServerEvent::PlaybackState(state)) => println!(
            "{:?}: {} at {} ms (version {})",
            state.cause,
            if view.playback().playing {
                "playing"
            } else {
                "paused"
            },
            view.playback().position_ms.get(),
            view.playback().version
        ),
        Some(ServerEvent::ChatMessage(line)) => {
            println!(
                "<{}> {}",
                line.user.display_name.as_str(),
                line.text.as_str()
            );
        }
        Some(ServerEvent::UserJoined(joined)) => println!(
            "{} joined; {} online",
            joined.user.display_name.as_str(),
            view.members().iter().filter(|m| m.online).count()
        ),
        Some(ServerEvent::Error(error)) => println!("refused: {} {}", error.code, error.message),
        Some(other) => println!("{}", other.event_type()),
        None => println!("{event:?}"),
    }
}
