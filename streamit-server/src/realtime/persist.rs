//! Where a live room's changes reach the store, off the room's task. Chat lines and playback
//! changes are *durable before they are told*: their broadcast is the sender's only
//! acknowledgement (PROTOCOL: commands that succeed are not acknowledged directly), so the room
//! holds its frames until the writes queued before them are stored, and a node killed at any
//! moment loses nothing anyone saw. Writes group-commit: while one is in flight, what queues
//! behind it goes out as the next batch (each chat line once, only the newest playback).
//! Presence is written behind (at most every 250 ms): nobody is told it was stored.

use std::time::Duration;

use streamit_protocol::v1::{ChatMessage, Playback, RoomCode};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use tokio_util::sync::CancellationToken;

use crate::store::{self, Fenced, Store, Term};

/// Writes one batch may group.
const BATCH: usize = 64;
/// How often changed presence is written.
const PRESENCE_EVERY: Duration = Duration::from_millis(250);
/// Writes that may wait for the store before the room waits too.
const BACKLOG: usize = 1024;

/// A write the room's next frames wait for.
enum Durable {
    Chat(ChatMessage),
    /// Playback changed; `seq` is the broadcast that says so.
    Playback(Playback, u64),
}

/// How the persister ends.
enum Finish {
    /// Writes the room's last playback and presence, settling the counters' ceilings when
    /// given them.
    Settle(Option<(u64, u64)>),
    /// Writes only what is still queued: the room changed hands, and its presence is the new
    /// owner's to write now.
    Abandon,
}

/// The room's side of its persister.
pub(crate) struct Persister {
    durable: mpsc::Sender<Durable>,
    /// Durable writes queued so far.
    queued: u64,
    /// Durable writes stored (or given up on) so far, in queue order.
    stored: watch::Receiver<u64>,
    presence: watch::Sender<(u32, bool)>,
    stop: oneshot::Sender<Finish>,
    task: JoinHandle<()>,
}

/// The persister task's inputs.
struct Inputs {
    store: Store,
    code: RoomCode,
    term: Term,
    /// Cancelled once the store says a newer owner holds the room.
    superseded: CancellationToken,
    durable: mpsc::Receiver<Durable>,
    stored: watch::Sender<u64>,
    /// The newest playback written, with its `seq`, for the final settling write.
    playback: (Playback, u64),
    presence: watch::Receiver<(u32, bool)>,
    stop: oneshot::Receiver<Finish>,
}

impl Persister {
    /// Starts writing for the owner of `code` in `term`; `superseded` is cancelled once the
    /// store says a newer owner holds the room.
    pub(crate) fn start(
        store: Store,
        (code, term): (RoomCode, Term),
        (playback, seq): (Playback, u64),
        superseded: CancellationToken,
    ) -> Self {
        let (durable_tx, durable) = mpsc::channel(BACKLOG);
        let (stored_tx, stored) = watch::channel(0);
        let (presence_tx, presence) = watch::channel((0, false));
        let (stop_tx, stop) = oneshot::channel();
        let task = tokio::spawn(run(Inputs {
            store,
            code,
            term,
            superseded,
            durable,
            stored: stored_tx,
            playback: (playback, seq),
            presence,
            stop,
        }));
        Self {
            durable: durable_tx,
            queued: 0,
            stored,
            presence: presence_tx,
            stop: stop_tx,
            task,
        }
    }

    /// The room's playback changed, as broadcast at `seq`. Waits only when many writes are
    /// already waiting for the store.
    pub(crate) async fn playback(&mut self, playback: Playback, seq: u64) {
        self.queue(Durable::Playback(playback, seq)).await;
    }

    /// A chat line to store. Waits only when many writes are already waiting for the store.
    pub(crate) async fn chat(&mut self, message: ChatMessage) {
        self.queue(Durable::Chat(message)).await;
    }

    async fn queue(&mut self, write: Durable) {
        if self.durable.send(write).await.is_err() {
            tracing::error!("the room's persister stopped; a write was not stored");
            return;
        }
        self.queued += 1;
    }

    /// How many durable writes have been queued: frames queued now wait for this mark.
    pub(crate) fn mark(&self) -> u64 {
        self.queued
    }

    /// Whether writes queued are not stored yet.
    pub(crate) fn is_behind(&self) -> bool {
        *self.stored.borrow() < self.queued
    }

    /// Waits until more writes are stored, and says how many are.
    pub(crate) async fn stored(&mut self) -> u64 {
        if self.stored.changed().await.is_err() {
            // The task ended: it stored all it ever will; nothing must wait on it forever.
            return self.queued;
        }
        *self.stored.borrow_and_update()
    }

    /// People connected now, and whether the host is among them.
    pub(crate) fn presence(&self, viewers: u32, host_connected: bool) {
        self.presence.send_if_modified(|current| {
            let changed = *current != (viewers, host_connected);
            *current = (viewers, host_connected);
            changed
        });
    }

    /// Writes everything still pending, with the room's final playback and `seq`, then stops.
    /// `settle` (with the ceilings this room holds) lets the counters' ceilings come down to
    /// the values used, so the next task continues without a gap.
    pub(crate) async fn finish(mut self, settle: (u64, u64), playback: Playback, seq: u64) {
        self.playback(playback, seq).await;
        let _ = self.stop.send(Finish::Settle(Some(settle)));
        if let Err(error) = self.task.await {
            tracing::error!(%error, "room persister failed");
        }
    }

    /// Writes what is still queued, and nothing else, then stops.
    pub(crate) async fn abandon(self) {
        let _ = self.stop.send(Finish::Abandon);
        if let Err(error) = self.task.await {
            tracing::error!(%error, "room persister failed");
        }
    }
}

async fn run(mut inputs: Inputs) {
    let mut batch = Vec::with_capacity(BATCH);
    // Presence changes with every socket that comes and goes; the listing can be a moment
    // behind, so it is written at most this often instead of once per socket.
    let mut presence_tick = tokio::time::interval(PRESENCE_EVERY);
    presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let finish = loop {
        tokio::select! {
            finish = &mut inputs.stop => break finish.unwrap_or(Finish::Settle(None)),
            received = inputs.durable.recv_many(&mut batch, BATCH) => {
                if received == 0 { break Finish::Settle(None); }
                save_batch(&mut inputs, &mut batch, None).await;
            }
            _ = presence_tick.tick() => {
                if inputs.presence.has_changed().unwrap_or(false) {
                    let (viewers, host) = *inputs.presence.borrow_and_update();
                    save_presence(&inputs, viewers, host).await;
                }
            }
        }
    };
    inputs.durable.close();
    while let Some(write) = inputs.durable.recv().await {
        batch.push(write);
    }
    let Finish::Settle(settle) = finish else {
        save_batch(&mut inputs, &mut batch, None).await;
        return;
    };
    // The final write settles the ceilings even when playback did not change.
    if !batch.iter().any(|w| matches!(w, Durable::Playback(..))) {
        let (playback, seq) = inputs.playback;
        batch.push(Durable::Playback(playback, seq));
    }
    save_batch(&mut inputs, &mut batch, settle).await;
    let (viewers, host) = *inputs.presence.borrow();
    save_presence(&inputs, viewers, host).await;
}

/// Stores a batch (its chat lines, then its newest playback) and marks it stored. A write the
/// store fails is logged and counted stored all the same: the room does not stop for an outage,
/// and the store's own timeouts bound how long its frames waited. A write refused because a
/// newer owner holds the room is not: this owner is done, and nothing it held goes out.
async fn save_batch(inputs: &mut Inputs, batch: &mut Vec<Durable>, settle: Option<(u64, u64)>) {
    let written = batch.len() as u64;
    let mut lines = Vec::new();
    let mut playback = None;
    for write in batch.drain(..) {
        match write {
            Durable::Chat(line) => lines.push(line),
            Durable::Playback(state, seq) => playback = Some((state, seq)),
        }
    }
    let mut fenced = Fenced::Written;
    if !lines.is_empty() {
        let saved = inputs.store.insert_chat(inputs.code, inputs.term, &lines);
        fenced = outcome(inputs, "storing chat", saved.await);
    }
    if let (Fenced::Written, Some((state, seq))) = (fenced, playback) {
        let saved = (inputs.store).save_playback(inputs.code, inputs.term, &state, seq, settle);
        fenced = outcome(inputs, "saving playback", saved.await);
        inputs.playback = (state, seq);
    }
    if fenced == Fenced::Written {
        inputs.stored.send_modify(|stored| *stored += written);
    }
}

async fn save_presence(inputs: &Inputs, viewers: u32, host_connected: bool) {
    let saved = (inputs.store).set_presence(inputs.code, inputs.term, viewers, host_connected);
    let _ = outcome(inputs, "saving presence", saved.await);
}

/// Logs a failed write, and tells the room when it was superseded.
fn outcome(inputs: &Inputs, what: &str, saved: store::Result<Fenced>) -> Fenced {
    match saved {
        Ok(Fenced::Written) => Fenced::Written,
        Ok(Fenced::Superseded) => {
            if !inputs.superseded.is_cancelled() {
                tracing::warn!(room = %inputs.code, "{what}: a newer owner holds the room; letting go");
                inputs.superseded.cancel();
            }
            Fenced::Superseded
        }
        Err(error) => {
            tracing::error!(room = %inputs.code, %error, "{what} failed");
            Fenced::Written
        }
    }
}
