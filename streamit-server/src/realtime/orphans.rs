//! With several nodes: rooms whose owner node died while nobody else was in them. Such a room
//! stays `LIVE` in the store with no node to notice that its host is gone; this sweep finds
//! it (no node holds its lease) and puts it into grace, as a restart does for a lone node.
//! It takes the room's lease for the step, so no node can load the room half-way through, and
//! only the node holding the sweep's own lease sweeps.

use std::sync::Arc;
use std::time::Duration;

use super::Shared;
use crate::bus::LeaseKey;
use crate::clock::now_ms;
use crate::lifecycle;

/// How often the sweep runs.
const SWEEP_EVERY: Duration = Duration::from_secs(2);

pub(super) async fn sweep(shared: Arc<Shared>) {
    let cluster = &shared.cluster;
    let sweeper = LeaseKey::new(&cluster.prefix, "sweeper:orphans");
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let held = cluster
            .bus
            .acquire(&sweeper, &cluster.holder(), SWEEP_EVERY * 3)
            .await;
        let Ok(Some(turn)) = held else { continue };
        if let Err(error) = sweep_once(&shared).await {
            tracing::warn!(%error, "the orphaned-room sweep failed; retrying");
        }
        // Held for its whole ttl when this node sweeps well; released, another node may.
        let _ = cluster.bus.release(&turn).await;
    }
}

async fn sweep_once(shared: &Shared) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let cluster = &shared.cluster;
    for code in shared.store.live_rooms().await? {
        let key = cluster.room_lease_key(code);
        let Some(lease) = cluster
            .bus
            .acquire(&key, &cluster.holder(), cluster.room_lease)
            .await?
        else {
            continue;
        };
        let deadline = lifecycle::grace_deadline(now_ms(), shared.room_settings.grace_seconds);
        let moved = shared.store.orphaned(code, deadline).await;
        cluster.bus.release(&lease).await?;
        if moved? {
            tracing::info!(room = %code, deadline, "the room's node is gone; room in grace");
        }
    }
    Ok(())
}
