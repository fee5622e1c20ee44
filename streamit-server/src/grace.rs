//! The grace sweeper: expires rooms whose host did not come back before the deadline, without
//! any client action, within a quarter second of it passing. The store's compare-and-set makes
//! it safe when a host reconnects at the same moment, or when several nodes sweep.

use std::time::Duration;

use streamit_protocol::v1::RoomState;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::lifecycle::{self, Event};
use crate::notices::{Notice, Notices};
use crate::store::Store;

const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// The longest wait between sweeps while the database fails: it doubles from `SWEEP_EVERY`.
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub(crate) async fn sweep(store: Store, notices: Notices, shutdown: CancellationToken) {
    let sources = lifecycle::sources(Event::GraceExpired);
    // While sweeps fail: how long to wait before the next one. The outage is logged when it
    // starts and when it ends, not on every attempt.
    let mut backoff: Option<Duration> = None;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff.unwrap_or(SWEEP_EVERY)) => {}
        }
        let due = match store.rooms_past_deadline(now_ms()).await {
            Ok(due) => {
                if backoff.take().is_some() {
                    tracing::info!("grace sweeps resumed: the database answers again");
                }
                due
            }
            Err(error) => {
                if backoff.is_none() {
                    tracing::error!(%error, "grace sweeps failing; retrying with backoff");
                }
                backoff = Some(backoff.map_or(SWEEP_EVERY, |b| b * 2).min(MAX_BACKOFF));
                continue;
            }
        };
        for code in due {
            match store
                .transition_room(code, &sources, RoomState::Expired, None, now_ms())
                .await
            {
                Ok(true) => {
                    tracing::info!(room = %code, "grace ran out; room expired");
                    notices.send(Notice::RoomExpired { code }).await;
                }
                Ok(false) => {}
                Err(error) => tracing::error!(room = %code, %error, "expiring room failed"),
            }
        }
    }
}
