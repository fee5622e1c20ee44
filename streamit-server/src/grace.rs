//! The grace sweeper: expires rooms whose host did not come back before the deadline, without
//! any client action, within a quarter second of it passing. The store's compare-and-set makes
//! it safe when a host reconnects at the same moment, or when several nodes sweep.

use std::time::Duration;

use streamit_protocol::v1::RoomState;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::realtime::Realtime;
use crate::rooms::lifecycle::{self, Event};
use crate::store::Store;

const SWEEP_EVERY: Duration = Duration::from_millis(250);

pub(crate) async fn sweep(store: Store, realtime: Realtime, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let sources = lifecycle::sources(Event::GraceExpired);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let due = match store.rooms_past_deadline(now_ms()).await {
            Ok(due) => due,
            Err(error) => {
                tracing::error!(%error, "grace sweep failed");
                continue;
            }
        };
        for code in due {
            match store
                .transition_room(code, &sources, RoomState::Expired, None)
                .await
            {
                Ok(true) => {
                    tracing::info!(room = %code, "grace ran out; room expired");
                    realtime.room_expired(code).await;
                }
                Ok(false) => {}
                Err(error) => tracing::error!(room = %code, %error, "expiring room failed"),
            }
        }
    }
}
