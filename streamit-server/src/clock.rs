//! The server clock: Unix epoch milliseconds, the unit of every `*_ms` field on the wire.

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in Unix epoch ms.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
