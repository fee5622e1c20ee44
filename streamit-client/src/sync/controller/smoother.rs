//! [`Smoother`]: steady drift, averaged so that position jitter and clock noise do not
//! start a correction.

use std::collections::VecDeque;

/// The mean drift over the last `span_ms` of steady playback.
#[derive(Clone, Debug)]
pub(super) struct Smoother {
    span_ms: f64,
    /// Smooth server ms, drift ms.
    samples: VecDeque<(f64, f64)>,
    sum: f64,
}

impl Smoother {
    pub(super) fn new(span_ms: f64) -> Self {
        Self {
            span_ms,
            samples: VecDeque::new(),
            sum: 0.0,
        }
    }

    pub(super) fn push(&mut self, at_ms: f64, drift_ms: f64) {
        self.samples.push_back((at_ms, drift_ms));
        self.sum += drift_ms;
        while let Some(&(oldest, drift)) = self.samples.front() {
            if oldest >= at_ms - self.span_ms {
                break;
            }
            self.samples.pop_front();
            self.sum -= drift;
        }
    }

    /// Steadiness broke (an action, a room change, a stall): start again.
    pub(super) fn clear(&mut self) {
        self.samples.clear();
        self.sum = 0.0;
    }

    /// The mean, once the samples cover half the span (three at least).
    pub(super) fn mean(&self) -> Option<f64> {
        let (first, _) = *self.samples.front()?;
        let (last, _) = *self.samples.back()?;
        (self.samples.len() >= 3 && last - first >= self.span_ms / 2.0)
            .then(|| self.sum / self.samples.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn averages_over_its_span_once_half_full() {
        let mut smoother = Smoother::new(1_000.0);
        smoother.push(0.0, 10.0);
        smoother.push(100.0, 20.0);
        smoother.push(200.0, 30.0);
        assert_eq!(smoother.mean(), None, "200 ms of a 1 000 ms span");
        for t in 3..=15 {
            smoother.push(f64::from(t) * 100.0, 30.0);
        }
        assert_eq!(smoother.mean(), Some(30.0), "the first two left the span");
        smoother.clear();
        assert_eq!(smoother.mean(), None);
    }
}
