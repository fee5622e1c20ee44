//! What the rules share: raw HTTP calls answering status and JSON, guests with rooms, and a
//! raw room socket read as JSON values.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use streamit_client::protocol::v1::ServerMessage;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for an answer or a frame that should come.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);
/// How long to watch for a frame that should not come.
pub(crate) const QUIET: Duration = Duration::from_millis(500);

/// The server under test.
pub(crate) struct Api {
    http: reqwest::Client,
    base: String,
}

/// A guest's access token and user id.
#[derive(Clone, Debug)]
pub(crate) struct Guest {
    pub(crate) token: String,
    pub(crate) id: String,
}

impl Api {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(PATIENCE)
                .build()
                .unwrap_or_default(),
            base: url.trim_end_matches('/').to_owned(),
        }
    }

    /// A `POST` with a JSON body: status and JSON answer (`Null` when none).
    pub(crate) async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.post(format!("{}{path}", self.base)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// A `POST` with a raw body and content type.
    pub(crate) async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &'static str,
    ) -> Result<(u16, Value), String> {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", content_type)
            .body(body);
        answer(request).await
    }

    pub(crate) async fn get(
        &self,
        path: &str,
        token: Option<&str>,
    ) -> Result<(u16, Value), String> {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        answer(request).await
    }

    /// A new guest.
    pub(crate) async fn guest(&self) -> Result<Guest, String> {
        let (status, body) = self.post("/api/auth/guest/", None, &json!({})).await?;
        let token = body["access"].as_str();
        let id = body["user"]["id"].as_str();
        match (status, token, id) {
            (201, Some(token), Some(id)) => Ok(Guest {
                token: token.into(),
                id: id.into(),
            }),
            _ => Err(format!("guest: {status} {body}")),
        }
    }

    /// A new guest host and the code of the room it created with `request`.
    pub(crate) async fn room(&self, request: Value) -> Result<(Guest, String), String> {
        let host = self.guest().await?;
        let (status, body) = self
            .post("/api/rooms/create/", Some(&host.token), &request)
            .await?;
        match (status, body["room"]["code"].as_str()) {
            (201, Some(code)) => Ok((host.clone(), code.to_owned())),
            _ => Err(format!("create: {status} {body}")),
        }
    }

    /// A new guest who joined `code` (answered `APPROVED`).
    pub(crate) async fn member(&self, code: &str) -> Result<Guest, String> {
        let guest = self.guest().await?;
        let (status, body) = self
            .post(
                "/api/rooms/join/",
                Some(&guest.token),
                &json!({"code": code}),
            )
            .await?;
        if status != 200 || body["status"] != "APPROVED" {
            return Err(format!("join: {status} {body}"));
        }
        Ok(guest)
    }

    /// Opens a room socket: the socket, or the close code it was refused with.
    pub(crate) async fn socket(&self, code: &str, token: &str) -> Result<Socket, String> {
        let url = format!(
            "{}/ws/room/{code}/?token={token}",
            self.base.replacen("http", "ws", 1)
        );
        let opening = tokio_tungstenite::connect_async_with_config(url, None, true);
        match tokio::time::timeout(PATIENCE, opening).await {
            Ok(Ok((ws, _))) => Ok(Socket(ws)),
            Ok(Err(error)) => Err(format!("upgrade: {error}")),
            Err(_) => Err("no upgrade in time".into()),
        }
    }
}

async fn answer(request: reqwest::RequestBuilder) -> Result<(u16, Value), String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let text = response.text().await.map_err(|e| e.to_string())?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// What a socket read next.
#[derive(Debug)]
pub(crate) enum Read {
    /// A text frame, as JSON.
    Frame(Value),
    /// A close frame's code.
    Closed(Option<u16>),
    /// Nothing within the wait.
    Nothing,
}

/// A raw room socket.
pub(crate) struct Socket(Ws);

impl Socket {
    pub(crate) async fn send(&mut self, frame: &Value) -> Result<(), String> {
        self.send_text(frame.to_string()).await
    }

    pub(crate) async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.0
            .send(Message::Text(text.into()))
            .await
            .map_err(|e| e.to_string())
    }

    /// The next text or close frame within `wait`. Every text frame must decode as a v1
    /// server message (6.2, 6.6), or it is an error.
    pub(crate) async fn read(&mut self, wait: Duration) -> Result<Read, String> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.0.next()).await {
                Err(_) => return Ok(Read::Nothing),
                Ok(None | Some(Err(_))) => return Ok(Read::Closed(None)),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    ServerMessage::decode(text.as_str()).map_err(|e| {
                        format!("a frame that is not a v1 server message ({e}): {text}")
                    })?;
                    let value = serde_json::from_str(text.as_str()).map_err(|e| e.to_string())?;
                    return Ok(Read::Frame(value));
                }
                Message::Close(close) => return Ok(Read::Closed(close.map(|c| u16::from(c.code)))),
                _ => {}
            }
        }
    }

    /// Reads until a frame of `kind` (its `type`), skipping others; fails on a close or a
    /// timeout.
    pub(crate) async fn until(&mut self, kind: &str) -> Result<Value, String> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await? {
                Read::Frame(frame) if frame["type"] == kind => return Ok(frame),
                Read::Frame(_) => {}
                Read::Closed(code) => {
                    return Err(format!("closed with {code:?} waiting for {kind}"));
                }
                Read::Nothing => return Err(format!("no {kind} within {PATIENCE:?}")),
            }
        }
    }

    /// The first frame, which must be the snapshot.
    pub(crate) async fn snapshot(&mut self) -> Result<Value, String> {
        match self.read(PATIENCE).await? {
            Read::Frame(frame) if frame["type"] == "ROOM_SNAPSHOT" => Ok(frame),
            other => Err(format!("first frame is not ROOM_SNAPSHOT: {other:?}")),
        }
    }

    pub(crate) async fn close(mut self) {
        let _ = self.0.close(None).await;
    }
}

/// `Ok` when `cond`, else `Err(why)`.
pub(crate) fn ensure(cond: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if cond { Ok(()) } else { Err(why()) }
}
