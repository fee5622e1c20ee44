//! What client and server events share: the macro that writes an event enum from one list of
//! `(variant, payload, wire name)`, the empty payload, and the unknown-event arm.
//!
//! One list gives the enum (with its schema), `TYPES`, `event_type()`, the payload serializer
//! and the per-type decoder, so an event cannot be added to one and forgotten in another.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The payload of events that carry nothing: `{}` on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Empty {}

/// A server event this library does not know, kept whole so a newer server cannot break an
/// older client.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The event's `type`.
    pub event_type: String,
    /// Its `data`, as sent.
    pub data: Value,
}

macro_rules! event_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[doc = $doc:literal])+ $variant:ident($payload:ty) = $wire:literal,)+
        }
        $(unknown: $unknown:ident,)?
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, schemars::JsonSchema)]
        #[serde(tag = "type", content = "data")]
        #[non_exhaustive]
        pub enum $name {
            $($(#[doc = $doc])+ #[serde(rename = $wire)] $variant($payload),)+
            $(
                /// An event newer than this library; see `UnknownEvent`.
                #[schemars(skip)]
                $unknown($crate::v1::events::UnknownEvent),
            )?
        }

        impl $name {
            /// The wire `type` of every event this library knows.
            pub const TYPES: &'static [&'static str] = &[$($wire),+];

            /// The event's wire `type`, e.g. `"PLAY"`.
            pub fn event_type(&self) -> &str {
                match self {
                    $(Self::$variant(_) => $wire,)+
                    $(Self::$unknown(unknown) => &unknown.event_type,)?
                }
            }

            /// Decodes `data` (raw JSON) for the event named `event_type`; `None` when no event
            /// has that name.
            pub(crate) fn from_parts(
                event_type: &str,
                data: &str,
            ) -> Option<Result<Self, serde_json::Error>> {
                Some(match event_type {
                    $($wire => serde_json::from_str::<$payload>(data).map(Self::$variant),)+
                    _ => return None,
                })
            }

            pub(crate) fn serialize_data<S: serde::Serializer>(
                &self,
                serializer: S,
            ) -> Result<S::Ok, S::Error> {
                use serde::Serialize as _;
                match self {
                    $(Self::$variant(payload) => payload.serialize(serializer),)+
                    $(Self::$unknown(unknown) => unknown.data.serialize(serializer),)?
                }
            }
        }

        impl serde::Serialize for $name {
            /// The adjacently tagged form `{"type": ..., "data": ...}`.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                use serde::ser::SerializeMap as _;
                let mut map = serializer.serialize_map(Some(2))?;
                map.serialize_entry("type", self.event_type())?;
                map.serialize_entry("data", &$crate::v1::events::Data(self))?;
                map.end()
            }
        }

        impl $crate::v1::events::SerializeData for $name {
            fn serialize_data<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                $name::serialize_data(self, serializer)
            }
        }
    };
}

pub(crate) use event_enum;

/// An event enum whose payload can be written on its own, as an envelope's `data`.
pub(crate) trait SerializeData {
    fn serialize_data<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error>;
}

/// Serializes an event's payload alone.
pub(crate) struct Data<'a, E>(pub(crate) &'a E);

impl<E: SerializeData> Serialize for Data<'_, E> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_data(serializer)
    }
}
