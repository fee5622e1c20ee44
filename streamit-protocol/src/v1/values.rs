//! Bounded numbers: media positions, playback rates, durations, page sizes.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize};

/// Why a number was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{value} is outside {min}..={max}")]
pub struct OutOfRange {
    /// The refused value.
    pub value: f64,
    /// Smallest allowed.
    pub min: f64,
    /// Largest allowed.
    pub max: f64,
}

/// A position in the media, in milliseconds, within `0..=24 h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct PositionMs(u64);

impl PositionMs {
    /// The start of the media.
    pub const ZERO: Self = Self(0);
    /// The largest position: 24 hours.
    pub const MAX: Self = Self(24 * 60 * 60 * 1000);

    /// Checks the bound.
    ///
    /// # Errors
    /// When `ms` is past 24 hours.
    pub fn new(ms: u64) -> Result<Self, OutOfRange> {
        if ms > Self::MAX.0 {
            return Err(OutOfRange {
                value: ms as f64,
                min: 0.0,
                max: Self::MAX.0 as f64,
            });
        }
        Ok(Self(ms))
    }

    /// Clamps `ms` into range, for positions computed rather than received.
    pub const fn saturating(ms: u64) -> Self {
        if ms > Self::MAX.0 {
            Self::MAX
        } else {
            Self(ms)
        }
    }

    /// Milliseconds.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for PositionMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

impl<'de> Deserialize<'de> for PositionMs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PositionMs {
    fn schema_name() -> Cow<'static, str> {
        "PositionMs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A position in the media, in milliseconds, from 0 to 24 hours.",
            "type": "integer", "minimum": 0, "maximum": Self::MAX.0
        })
    }
}

/// A playback rate, `0.25..=4.0` (1.0 is normal speed).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Rate(f64);

impl Rate {
    /// Normal speed.
    pub const NORMAL: Self = Self(1.0);
    /// Slowest rate.
    pub const MIN: f64 = 0.25;
    /// Fastest rate.
    pub const MAX: f64 = 4.0;

    /// Checks the bound (which also refuses NaN and infinities).
    ///
    /// # Errors
    /// When `rate` is outside `0.25..=4.0`.
    pub fn new(rate: f64) -> Result<Self, OutOfRange> {
        if (Self::MIN..=Self::MAX).contains(&rate) {
            Ok(Self(rate))
        } else {
            Err(OutOfRange {
                value: rate,
                min: Self::MIN,
                max: Self::MAX,
            })
        }
    }

    /// The rate as a factor.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl Default for Rate {
    fn default() -> Self {
        Self::NORMAL
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Rate {
    fn schema_name() -> Cow<'static, str> {
        "Rate".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A playback rate from 0.25 to 4.0; 1.0 is normal speed.",
            "type": "number", "minimum": Self::MIN, "maximum": Self::MAX
        })
    }
}

/// A media position or duration in seconds, as players report them, within `0..=24 h`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct Seconds(f64);

impl Seconds {
    /// The largest value: 24 hours.
    pub const MAX: f64 = 24.0 * 60.0 * 60.0;

    /// Checks the bound (which also refuses NaN and infinities).
    ///
    /// # Errors
    /// When `s` is negative or past 24 hours.
    pub fn new(s: f64) -> Result<Self, OutOfRange> {
        if (0.0..=Self::MAX).contains(&s) {
            Ok(Self(s))
        } else {
            Err(OutOfRange {
                value: s,
                min: 0.0,
                max: Self::MAX,
            })
        }
    }

    /// Converts a position in milliseconds.
    pub fn from_position(position: PositionMs) -> Self {
        Self(position.get() as f64 / 1000.0)
    }

    /// Seconds.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(f64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Seconds of media, from 0 to 24 hours; fractions allowed.",
            "type": "number", "minimum": 0, "maximum": Self::MAX
        })
    }
}

/// How long a mute lasts, in whole seconds: 1 second to 30 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct MuteDuration(u32);

impl MuteDuration {
    /// The longest mute: 30 days. A mute without a duration lasts until `UNMUTE_USER`.
    pub const MAX_SECONDS: u32 = 30 * 24 * 60 * 60;

    /// Checks the bound.
    ///
    /// # Errors
    /// When `seconds` is 0 or over 30 days.
    pub fn new(seconds: u32) -> Result<Self, OutOfRange> {
        if (1..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(Self(seconds))
        } else {
            Err(OutOfRange {
                value: seconds.into(),
                min: 1.0,
                max: Self::MAX_SECONDS.into(),
            })
        }
    }

    /// Seconds.
    pub const fn seconds(self) -> u32 {
        self.0
    }
}

impl<'de> Deserialize<'de> for MuteDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(u32::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for MuteDuration {
    fn schema_name() -> Cow<'static, str> {
        "MuteDuration".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Mute length in whole seconds, from 1 to 30 days.",
            "type": "integer", "minimum": 1, "maximum": Self::MAX_SECONDS
        })
    }
}

/// A page size for listings: `1..=100`, default 20.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PageLimit(u8);

impl PageLimit {
    /// The largest page.
    pub const MAX: u8 = 100;

    /// Checks the bound.
    ///
    /// # Errors
    /// When `n` is 0 or over 100.
    pub fn new(n: u64) -> Result<Self, OutOfRange> {
        match u8::try_from(n) {
            Ok(small) if (1..=Self::MAX).contains(&small) => Ok(Self(small)),
            _ => Err(OutOfRange {
                value: n as f64,
                min: 1.0,
                max: Self::MAX.into(),
            }),
        }
    }

    /// Items per page.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for PageLimit {
    fn default() -> Self {
        Self(20)
    }
}

impl<'de> Deserialize<'de> for PageLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(u64::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PageLimit {
    fn schema_name() -> Cow<'static, str> {
        "PageLimit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Items per page, from 1 to 100.",
            "type": "integer", "minimum": 1, "maximum": Self::MAX, "default": 20
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn position_is_bounded_to_a_day() {
        assert!(PositionMs::new(86_400_000).is_ok());
        assert!(PositionMs::new(86_400_001).is_err());
        assert!(serde_json::from_value::<PositionMs>(json!(-1)).is_err());
        assert!(serde_json::from_value::<PositionMs>(json!(1.5)).is_err());
        assert!(serde_json::from_value::<PositionMs>(json!("5")).is_err());
        assert_eq!(PositionMs::saturating(u64::MAX), PositionMs::MAX);
    }

    #[test]
    fn rate_refuses_out_of_range_and_nan() {
        assert!(Rate::new(0.25).is_ok() && Rate::new(4.0).is_ok());
        for bad in [0.0, 0.24, 4.01, f64::NAN, f64::INFINITY, -1.0] {
            assert!(Rate::new(bad).is_err(), "{bad}");
        }
        let rate: Rate = serde_json::from_value(json!(2)).unwrap();
        assert_eq!(rate.get(), 2.0);
    }

    #[test]
    fn other_bounds() {
        assert!(Seconds::new(-0.5).is_err() && Seconds::new(86_400.5).is_err());
        assert!(MuteDuration::new(0).is_err() && MuteDuration::new(2_592_001).is_err());
        assert!(
            PageLimit::new(0).is_err()
                && PageLimit::new(101).is_err()
                && PageLimit::new(256).is_err()
        );
        assert_eq!(PageLimit::default().get(), 20);
    }
}
