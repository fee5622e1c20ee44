//! A guest creates a room, hosts it, and drives playback on a timer (play, pause, seek
//! ahead, play …) while telling what happens, until Ctrl-C. What it knows of the room (is
//! there media yet, is it connected, does it still host) it reads from a [`RoomView`].
//!
//! ```text
//! cargo run -p streamit-client --example host -- [NAME]
//! ```
//!
//! The server is `STREAMIT_URL` (default `http://127.0.0.1:8000`). Others join with the
//! code it prints (see the `guest` example).

#[path = "support/words.rs"]
mod words;

use std::error::Error;
use std::process::ExitCode;
use std::time::Duration;

use streamit_client::protocol::v1::{
    CreateRoomRequest, DisplayName, MediaKind, MediaRef, PositionMs, Provider,
};
use streamit_client::{Client, RoomEvent, RoomSession, RoomView};

/// Time between two playback actions.
const STEP: Duration = Duration::from_secs(8);

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
    let name = std::env::args()
        .nth(1)
        .map(|name| DisplayName::new(&name))
        .transpose()?;
    let url = std::env::var("STREAMIT_URL").unwrap_or_else(|_| "http://127.0.0.1:8000".into());

    let client = Client::builder(url).build()?;
    let signed_in = client.guest(name).await?;
    let created = client.create_room(&CreateRoomRequest::default()).await?;
    let code = created.room.code;
    println!(
        "signed in as {}; room {code} created: join it with `--example guest -- {code}`",
        signed_in.user.display_name.as_str()
    );
    let (session, mut events) = client.join_room(code).await?;

    let mut view: Option<RoomView> = None;
    let mut ticker = tokio::time::interval(STEP);
    let mut step = 0_u32;
    // Pinned once and polled until it fires; after that its branch is off (`if !closing`),
    // as polling a finished `ctrl_c()` again panics.
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut closing = false;
    // Ctrl-C closes the session; its last events (the final `Disconnected`) still come, then
    // the stream ends and so does the loop.
    loop {
        let hosting = !closing
            && view
                .as_ref()
                .is_some_and(|v| v.is_connected() && v.is_host());
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                RoomView::follow(&mut view, &event);
                if let Some(line) = words::describe(view.as_ref(), &event, session.now_server_ms()) {
                    println!("{line}");
                }
                if let Some(view) = &view {
                    if let Err(error) = pick_media(&session, view, &event).await {
                        println!("could not pick media: {}", words::report(error.as_ref()));
                    }
                }
            }
            _ = ticker.tick(), if hosting => {
                if let Some(view) = &view {
                    if let Err(error) = act(&session, view, step).await {
                        println!("could not act: {}", words::report(error.as_ref()));
                    }
                }
                step += 1;
            }
            signal = &mut ctrl_c, if !closing => {
                closing = true;
                if let Err(error) = signal {
                    eprintln!("cannot listen for Ctrl-C ({error}); closing the room's session");
                }
                println!("leaving the room…");
                session.close().await;
            }
        }
    }
    Ok(())
}

/// On a snapshot of a room with nothing to play, picks a film.
async fn pick_media(
    session: &RoomSession,
    view: &RoomView,
    event: &RoomEvent,
) -> Result<(), Box<dyn Error>> {
    if event.snapshot().is_some() && view.room().media.is_none() && view.is_host() {
        let movie = MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None)?;
        session.set_media(movie).await?;
    }
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
