//! Waiting for what happens behind a test's back (a write-behind, a background task, a
//! token's expiry) by looking again and again until a deadline, never by sleeping and hoping.

use std::time::Duration;

/// The pause between two looks: short next to any deadline, long enough that a probe making
/// a request does not flood the server.
const INTERVAL: Duration = Duration::from_millis(10);

/// Runs `probe` until it answers `Some`, pausing 10 ms between tries, and returns what it
/// found.
///
/// The probe is an async closure, so it can make requests (`async || client.me().await.ok()`)
/// or just read state (`async || session.is_closed().then_some(())`). `within` bounds the whole
/// wait, a probe that hangs included.
///
/// # Panics
/// When `within` passes first, naming `what` was awaited: the test fails there.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let polling = async {
        loop {
            if let Some(found) = probe().await {
                return found;
            }
            tokio::time::sleep(INTERVAL).await;
        }
    };
    match tokio::time::timeout(within, polling).await {
        Ok(found) => found,
        Err(_) => panic!("{what} did not happen within {within:?}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;

    #[tokio::test]
    async fn returns_what_the_probe_found_once_it_finds_it() {
        let mut tries = 0;
        let found = eventually("the third try", Duration::from_secs(5), async || {
            tries += 1;
            (tries == 3).then_some(tries * 10)
        })
        .await;
        assert_eq!(found, 30);
    }

    #[tokio::test]
    #[should_panic(expected = "the impossible did not happen within 50ms")]
    async fn panics_naming_what_was_awaited() {
        eventually("the impossible", Duration::from_millis(50), async || {
            None::<()>
        })
        .await;
    }

    #[tokio::test]
    async fn the_deadline_bounds_a_probe_that_hangs() {
        let start = Instant::now();
        let waiting = tokio::spawn(eventually(
            "a hung probe",
            Duration::from_millis(50),
            async || std::future::pending::<Option<()>>().await,
        ));
        assert!(waiting.await.is_err_and(|e| e.is_panic()));
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
