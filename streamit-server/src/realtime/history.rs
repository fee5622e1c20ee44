//! A room's recent broadcasts, kept by its owner for clients that come back (PROTOCOL: resume):
//! bounded by count and age, and named by an epoch that is new whenever the history starts
//! over (a new owner, a room loaded again), so a client never splices two histories.

use std::collections::VecDeque;
use std::time::Duration;

use tokio_tungstenite::tungstenite::Utf8Bytes;

/// Where a client says it left off: the last `seq` it holds, in which epoch.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Resume {
    pub(crate) since_seq: u64,
    pub(crate) epoch: String,
}

/// The longest epoch a client may send back (ours are 16 hex digits).
const MAX_EPOCH_CHARS: usize = 64;

impl Resume {
    /// From the WebSocket URL's `since_seq` and `epoch`; `None` unless both are there and
    /// sound (a client that sends garbage gets a snapshot, as one that sends nothing).
    pub(crate) fn parse(since_seq: Option<&str>, epoch: Option<&str>) -> Option<Self> {
        let since_seq = since_seq?.parse().ok()?;
        let epoch = epoch.filter(|e| !e.is_empty() && e.len() <= MAX_EPOCH_CHARS)?;
        Some(Self {
            since_seq,
            epoch: epoch.to_owned(),
        })
    }
}

/// How much history a room keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) frames: usize,
    pub(crate) age: Duration,
}

struct Kept {
    seq: u64,
    at_ms: u64,
    frame: Utf8Bytes,
}

/// One room's history, as its owner broadcast it.
pub(crate) struct History {
    epoch: String,
    limits: Limits,
    kept: VecDeque<Kept>,
}

impl History {
    /// An empty history under a fresh epoch.
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            epoch: format!("{:016x}", rand::random::<u64>()),
            limits,
            kept: VecDeque::new(),
        }
    }

    pub(crate) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Keeps a broadcast; `seq` follows the last one kept.
    pub(crate) fn push(&mut self, seq: u64, frame: Utf8Bytes, now_ms: u64) {
        if self.limits.frames == 0 {
            return;
        }
        if self.kept.back().is_some_and(|last| last.seq + 1 != seq) {
            self.kept.clear(); // never a hole in what is kept
        }
        self.kept.push_back(Kept {
            seq,
            at_ms: now_ms,
            frame,
        });
        while self.kept.len() > self.limits.frames {
            self.kept.pop_front();
        }
        self.forget_old(now_ms);
    }

    /// Drops what is older than the age limit.
    pub(crate) fn forget_old(&mut self, now_ms: u64) {
        let age_ms = u64::try_from(self.limits.age.as_millis()).unwrap_or(u64::MAX);
        while self
            .kept
            .front()
            .is_some_and(|oldest| now_ms.saturating_sub(oldest.at_ms) > age_ms)
        {
            self.kept.pop_front();
        }
    }

    /// The broadcasts after `resume`, when they are all still here and `current` is the
    /// room's last `seq`; `None` when the client needs a snapshot instead.
    pub(crate) fn since(&self, resume: &Resume, current: u64) -> Option<Vec<Utf8Bytes>> {
        if resume.epoch != self.epoch || resume.since_seq > current {
            return None;
        }
        if resume.since_seq == current {
            return Some(Vec::new());
        }
        let oldest = self.kept.front()?.seq;
        let newest = self.kept.back()?.seq;
        if oldest > resume.since_seq + 1 || newest != current {
            return None;
        }
        let skip = usize::try_from(resume.since_seq + 1 - oldest).ok()?;
        Some(
            self.kept
                .iter()
                .skip(skip)
                .map(|k| k.frame.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(frames: usize) -> History {
        History::new(Limits {
            frames,
            age: Duration::from_secs(60),
        })
    }

    fn resume(history: &History, since_seq: u64) -> Resume {
        Resume {
            since_seq,
            epoch: history.epoch().to_owned(),
        }
    }

    fn texts(frames: Option<Vec<Utf8Bytes>>) -> Option<Vec<String>> {
        frames.map(|f| f.iter().map(|t| t.as_str().to_owned()).collect())
    }

    #[test]
    fn a_client_gets_exactly_what_it_missed() {
        let mut h = history(10);
        for seq in 11..=15 {
            h.push(seq, Utf8Bytes::from(format!("f{seq}")), 0);
        }
        assert_eq!(
            texts(h.since(&resume(&h, 12), 15)),
            Some(vec!["f13".into(), "f14".into(), "f15".into()])
        );
        assert_eq!(texts(h.since(&resume(&h, 15), 15)), Some(vec![]));
        assert_eq!(
            texts(h.since(&resume(&h, 10), 15)).map(|f| f.len()),
            Some(5),
            "everything after 10 is kept"
        );
    }

    #[test]
    fn too_old_another_epoch_or_a_future_seq_needs_a_snapshot() {
        let mut h = history(3);
        for seq in 11..=15 {
            h.push(seq, Utf8Bytes::from(format!("f{seq}")), 0);
        }
        assert!(
            h.since(&resume(&h, 11), 15).is_none(),
            "13 is the oldest kept"
        );
        assert!(h.since(&resume(&h, 12), 15).is_some());
        let other = Resume {
            since_seq: 14,
            epoch: "another".into(),
        };
        assert!(h.since(&other, 15).is_none());
        assert!(h.since(&resume(&h, 16), 15).is_none());
        assert_ne!(
            history(3).epoch(),
            h.epoch(),
            "every history has its own epoch"
        );
    }

    #[test]
    fn old_frames_are_forgotten_and_holes_never_kept() {
        let mut h = history(10);
        h.push(1, Utf8Bytes::from_static("a"), 0);
        h.push(2, Utf8Bytes::from_static("b"), 61_000);
        assert!(h.since(&resume(&h, 0), 2).is_none(), "the first is too old");
        assert!(h.since(&resume(&h, 1), 2).is_some());
        h.push(5, Utf8Bytes::from_static("e"), 61_000);
        assert!(
            h.since(&resume(&h, 2), 5).is_none(),
            "3 and 4 were never kept"
        );
        assert!(h.since(&resume(&h, 4), 5).is_some());
    }

    #[test]
    fn urls_resume_only_with_both_fields_sound() {
        assert_eq!(
            Resume::parse(Some("42"), Some("abc")),
            Some(Resume {
                since_seq: 42,
                epoch: "abc".into()
            })
        );
        assert!(Resume::parse(Some("42"), None).is_none());
        assert!(Resume::parse(Some("-1"), Some("abc")).is_none());
        assert!(Resume::parse(Some("1"), Some("")).is_none());
        assert!(Resume::parse(Some("1"), Some(&"x".repeat(65))).is_none());
    }
}
