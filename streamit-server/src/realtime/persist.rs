//! Write-behind for a live room: playback (with the `seq` it was broadcast at), presence and
//! chat reach the store from this task, never from the room's broadcast path. Playback and
//! presence coalesce (only the newest value is written; playback at most every 20 ms, presence
//! every 250 ms); chat lines are batched, each line written once.

use std::sync::Arc;
use std::time::Duration;

use streamit_protocol::v1::{ChatMessage, Playback, RoomCode};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::metrics::Metrics;
use crate::store::Store;

/// Lines one write may batch.
const CHAT_BATCH: usize = 64;
/// How often changed presence is written.
const PRESENCE_EVERY: Duration = Duration::from_millis(250);
/// The least time between two playback writes of a room: a host scrubbing through a video
/// sends dozens of seeks a second, and only the newest needs to reach the store (the counters'
/// ceilings keep `seq` and `version` rising after a crash whatever the store lags).
const PLAYBACK_EVERY: Duration = Duration::from_millis(20);
/// Lines that may wait for the store before the room waits too.
const CHAT_BACKLOG: usize = 1024;

/// How the persister ends.
enum Finish {
    /// Writes the room's last playback and presence, settling the counters' ceilings when
    /// given them.
    Settle(Option<(u64, u64)>),
    /// Writes only the chat still waiting: the room changed hands, and its playback and
    /// presence are the new owner's to write now.
    Abandon,
}

/// The room's side of its persister.
pub(crate) struct Persister {
    playback: watch::Sender<(Playback, u64)>,
    presence: watch::Sender<(u32, bool)>,
    chat: mpsc::Sender<ChatMessage>,
    stop: oneshot::Sender<Finish>,
    task: JoinHandle<()>,
}

/// The persister task's inputs.
struct Inputs {
    store: Store,
    metrics: Arc<Metrics>,
    code: RoomCode,
    playback: watch::Receiver<(Playback, u64)>,
    presence: watch::Receiver<(u32, bool)>,
    chat: mpsc::Receiver<ChatMessage>,
    stop: oneshot::Receiver<Finish>,
}

impl Persister {
    pub(crate) fn start(
        store: Store,
        metrics: Arc<Metrics>,
        code: RoomCode,
        playback: Playback,
        seq: u64,
    ) -> Self {
        let (playback_tx, playback) = watch::channel((playback, seq));
        let (presence_tx, presence) = watch::channel((0, false));
        let (chat_tx, chat) = mpsc::channel(CHAT_BACKLOG);
        let (stop_tx, stop) = oneshot::channel();
        let task = tokio::spawn(run(Inputs {
            store,
            metrics,
            code,
            playback,
            presence,
            chat,
            stop,
        }));
        Self {
            playback: playback_tx,
            presence: presence_tx,
            chat: chat_tx,
            stop: stop_tx,
            task,
        }
    }

    /// The room's playback and last `seq` changed.
    pub(crate) fn playback(&self, playback: Playback, seq: u64) {
        self.playback.send_replace((playback, seq));
    }

    /// People connected now, and whether the host is among them.
    pub(crate) fn presence(&self, viewers: u32, host_connected: bool) {
        self.presence.send_if_modified(|current| {
            let changed = *current != (viewers, host_connected);
            *current = (viewers, host_connected);
            changed
        });
    }

    /// A chat line to store. Waits only when many lines are already waiting for the store.
    pub(crate) async fn chat(&self, message: ChatMessage) {
        if self.chat.send(message).await.is_err() {
            tracing::error!("chat persister stopped; a line was not stored");
        }
    }

    /// Writes everything still pending, with the room's final playback and `seq`, then stops.
    /// `settle` (with the ceilings this room holds) lets the counters' ceilings come down to
    /// the values used, so the next task continues without a gap.
    pub(crate) async fn finish(self, settle: (u64, u64), playback: Playback, seq: u64) {
        self.playback.send_replace((playback, seq));
        let _ = self.stop.send(Finish::Settle(Some(settle)));
        if let Err(error) = self.task.await {
            tracing::error!(%error, "room persister failed");
        }
    }

    /// Writes the chat lines still waiting (they were broadcast: they must not be lost), and
    /// nothing else, then stops.
    pub(crate) async fn abandon(self) {
        let _ = self.stop.send(Finish::Abandon);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "room persister failed");
        }
    }
}

async fn run(mut inputs: Inputs) {
    let mut lines = Vec::with_capacity(CHAT_BATCH);
    // Presence changes with every socket that comes and goes; the listing can be a moment
    // behind, so it is written at most this often instead of once per socket.
    let mut presence_tick = tokio::time::interval(PRESENCE_EVERY);
    presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Closed for PLAYBACK_EVERY after each playback write; changes meanwhile coalesce.
    let playback_gate = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(playback_gate);
    let finish = loop {
        tokio::select! {
            finish = &mut inputs.stop => break finish.unwrap_or(Finish::Settle(None)),
            Ok(()) = inputs.playback.changed(), if playback_gate.is_elapsed() => {
                let (state, seq) = *inputs.playback.borrow_and_update();
                save_playback(&inputs, &state, seq, None).await;
                playback_gate.as_mut().reset(Instant::now() + PLAYBACK_EVERY);
            }
            () = &mut playback_gate, if !playback_gate.is_elapsed() => {}
            _ = presence_tick.tick() => {
                if inputs.presence.has_changed().unwrap_or(false) {
                    let (viewers, host) = *inputs.presence.borrow_and_update();
                    save_presence(&inputs, viewers, host).await;
                }
            }
            received = inputs.chat.recv_many(&mut lines, CHAT_BATCH) => {
                if received == 0 { break Finish::Settle(None); }
                save_chat(&inputs, &lines).await;
                lines.clear();
            }
        }
    };
    while let Ok(line) = inputs.chat.try_recv() {
        lines.push(line);
    }
    save_chat(&inputs, &lines).await;
    let Finish::Settle(settle) = finish else {
        return;
    };
    let (state, seq) = *inputs.playback.borrow();
    save_playback(&inputs, &state, seq, settle).await;
    let (viewers, host) = *inputs.presence.borrow();
    save_presence(&inputs, viewers, host).await;
}

async fn save_playback(inputs: &Inputs, playback: &Playback, seq: u64, settle: Option<(u64, u64)>) {
    let started = Instant::now();
    let saved = inputs
        .store
        .save_playback(inputs.code, playback, seq, settle)
        .await;
    inputs.metrics.store_write("playback", started.elapsed());
    if let Err(error) = saved {
        tracing::error!(room = %inputs.code, %error, "saving playback failed");
    }
}

async fn save_presence(inputs: &Inputs, viewers: u32, host_connected: bool) {
    let started = Instant::now();
    let saved = inputs
        .store
        .set_presence(inputs.code, viewers, host_connected)
        .await;
    inputs.metrics.store_write("presence", started.elapsed());
    if let Err(error) = saved {
        tracing::error!(room = %inputs.code, %error, "saving presence failed");
    }
}

async fn save_chat(inputs: &Inputs, lines: &[ChatMessage]) {
    if lines.is_empty() {
        return;
    }
    let started = Instant::now();
    let saved = inputs.store.insert_chat(inputs.code, lines).await;
    inputs.metrics.store_write("chat", started.elapsed());
    if let Err(error) = saved {
        tracing::error!(room = %inputs.code, %error, lines = lines.len(), "storing chat failed");
    }
}
