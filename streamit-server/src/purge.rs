//! The retention sweeper: a minute after start and then every hour, the store forgets what
//! ended more than `--retention-days` ago (ended rooms, stale guests, ended logins, expired
//! refresh tokens). Each node may run it: every statement is a plain conditional delete.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::store::Store;

/// The first purge waits this long, so a restart loop does not purge in a loop.
const FIRST_AFTER: Duration = Duration::from_secs(60);
/// Then this often.
const EVERY: Duration = Duration::from_secs(60 * 60);

pub(crate) async fn sweep(store: Store, retention: Duration, shutdown: CancellationToken) {
    let mut wait = FIRST_AFTER;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        let now = now_ms();
        let keep_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        match store.purge(now.saturating_sub(keep_ms)).await {
            Ok(purged) if purged.is_empty() => {}
            Ok(purged) => tracing::info!(
                rooms = purged.rooms,
                guests = purged.guests,
                logins = purged.logins,
                refresh_tokens = purged.refresh_tokens,
                "purged what ended before the retention period"
            ),
            Err(error) => tracing::warn!(%error, "retention purge failed; retrying in an hour"),
        }
    }
}
