//! Watch progress: the bodies of `/api/rooms/progress/*`, `/api/rooms/{code}/resume/` and
//! `/api/progress/`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::RoomCode;
use super::media::{InvalidMedia, MediaKind, MediaRef, Provider};
use super::values::Seconds;

/// `POST /api/rooms/progress/save/` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SaveProgressRequest {
    /// The room the media was watched in.
    pub room_code: RoomCode,
    /// The media; the room's current media when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    /// Position reached, in seconds.
    pub position_s: Seconds,
    /// The media's length, in seconds, when the player knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<Seconds>,
}

impl SaveProgressRequest {
    /// Progress on the room's current media.
    pub const fn new(room_code: RoomCode, position_s: Seconds) -> Self {
        Self {
            room_code,
            media: None,
            position_s,
            duration_s: None,
        }
    }

    /// Progress on `media` rather than the room's current media.
    #[must_use]
    pub fn with_media(mut self, media: MediaRef) -> Self {
        self.media = Some(media);
        self
    }

    /// With the media's length, when the player knows it.
    #[must_use]
    pub const fn with_duration(mut self, duration_s: Seconds) -> Self {
        self.duration_s = Some(duration_s);
        self
    }
}

/// `GET /api/rooms/progress/get/` query: the room and the `MediaRef` fields, flat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProgressQuery {
    /// The room.
    pub room_code: RoomCode,
    /// Media provider.
    pub provider: Provider,
    /// Media kind.
    pub kind: MediaKind,
    /// Media id.
    pub id: String,
    /// Season, tv only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub season: Option<u32>,
    /// Episode, tv only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<u32>,
}

impl ProgressQuery {
    /// The query for a room and a piece of media.
    pub fn new(room_code: RoomCode, media: &MediaRef) -> Self {
        Self {
            room_code,
            provider: media.provider(),
            kind: media.kind(),
            id: media.id().to_owned(),
            season: media.season(),
            episode: media.episode(),
        }
    }

    /// The media the query names.
    ///
    /// # Errors
    /// When the fields do not make a valid `MediaRef`.
    pub fn media(&self) -> Result<MediaRef, InvalidMedia> {
        MediaRef::from_parts(
            self.provider,
            self.kind,
            &self.id,
            self.season,
            self.episode,
        )
    }
}

/// The share of the length at which media counts as watched: [`WatchProgress::completed`]
/// turns true once `position_s` reaches it of `duration_s`.
pub const COMPLETED_AT_SHARE: f64 = 0.95;

/// How far a user got in a piece of media watched in a room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct WatchProgress {
    /// The room.
    pub room_code: RoomCode,
    /// The media.
    pub media: MediaRef,
    /// Position reached, in seconds.
    pub position_s: Seconds,
    /// Length, in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<Seconds>,
    /// `position_s / duration_s` as 0–100, when the length is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<f64>,
    /// Watched to the end (≥ 95 % or the player said `ended`); once true, stays true.
    pub completed: bool,
    /// Server clock at the last save, Unix epoch ms.
    pub updated_at_ms: u64,
}

impl WatchProgress {
    /// Progress without a known length.
    pub const fn new(
        room_code: RoomCode,
        media: MediaRef,
        position_s: Seconds,
        completed: bool,
        updated_at_ms: u64,
    ) -> Self {
        Self {
            room_code,
            media,
            position_s,
            duration_s: None,
            percent: None,
            completed,
            updated_at_ms,
        }
    }
}

/// `GET /api/progress/` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProgressListResponse {
    /// The caller's progress, most recently updated first.
    pub items: Vec<WatchProgress>,
}

impl ProgressListResponse {
    /// Builds the answer.
    pub const fn new(items: Vec<WatchProgress>) -> Self {
        Self { items }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn watch_progress_wire_shape() {
        let wire = json!({
            "room_code": "ABCD2345",
            "media": {"provider": "vidking", "kind": "tv", "id": "1399", "season": 2, "episode": 3},
            "position_s": 1200.5, "duration_s": 3600.0, "percent": 33.35, "completed": false, "updated_at_ms": 42
        });
        let parsed: WatchProgress = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
        let list = json!({"items": [wire]});
        let parsed: ProgressListResponse = serde_json::from_value(list.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), list);
    }

    #[test]
    fn save_body_defaults_media_to_the_room() {
        let save: SaveProgressRequest =
            serde_json::from_value(json!({"room_code": "abcd2345", "position_s": 61})).unwrap();
        assert_eq!(save.media, None);
        assert_eq!(
            serde_json::to_value(&save).unwrap(),
            json!({"room_code": "ABCD2345", "position_s": 61.0})
        );
        assert!(
            serde_json::from_value::<SaveProgressRequest>(
                json!({"room_code": "ABCD2345", "position_s": -1})
            )
            .is_err()
        );
    }

    #[test]
    fn query_names_media() {
        let query: ProgressQuery = serde_json::from_value(json!({"room_code": "ABCD2345", "provider": "vidking", "kind": "tv", "id": "1", "season": 1})).unwrap();
        assert_eq!(
            query.media().unwrap_err().field,
            crate::v1::MediaField::Episode
        );
        let media =
            MediaRef::from_parts(Provider::Youtube, MediaKind::Video, "abc", None, None).unwrap();
        let query = ProgressQuery::new(RoomCode::parse("ABCD2345").unwrap(), &media);
        assert_eq!(query.media().unwrap(), media);
    }
}
