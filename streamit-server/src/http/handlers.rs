//! One arm per endpoint (the protocol's declarations): check limits and the caller, decode the input, call the service, answer.

use std::net::IpAddr;
use std::time::Instant;

use http::StatusCode;
use http::request::Parts;
use streamit_protocol::v1::endpoints::{
    Answer, Approve, CreateRoom, DeleteRoom, Deny, Embed, Endpoint, GetAuditLog, GetPending,
    GetProgress, GetRoom, Guest, JoinRoom, ListParticipants, ListProgress, ListProviders,
    ListPublicRooms, Login, Logout, Me, Operation, Refresh, Register, Resume, SaveProgress,
};
use streamit_protocol::v1::{EmbedResponse, ErrorCode, RoomCode, RoomState, detail};

use super::request::{json_body, query};
use super::response::{Reply, json, no_content, text};
use super::router::Route;
use crate::app::App;
use crate::auth::{self, Caller, Refreshed, bearer};
use crate::bus::Health;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Scrape;
use crate::notices::Notice;
use crate::rate_limit::{RateLimiter, address_key};
use crate::{media, progress, rooms};

/// What `/metrics` reads at each scrape. Rooms by state come from the store; when it does not
/// answer, they are left out and the rest is still served.
async fn scrape(app: &App) -> Scrape {
    // Every state, so a state with no room reads 0 rather than missing.
    let rooms_by_state = match app.store.rooms_by_state().await {
        Ok(counts) => RoomState::ALL
            .iter()
            .map(|state| {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == state)
                    .map_or(0, |(_, n)| *n);
                (state.as_str(), n)
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "counting rooms for /metrics failed");
            Vec::new()
        }
    };
    let (pool_connections, pool_idle, pool_max) = app.store.pool_stats();
    Scrape {
        tasks: app.tasks.len(),
        rooms_by_state,
        pool_connections,
        pool_idle,
        pool_max,
    }
}

fn limit(limiter: &RateLimiter, key: &str) -> ApiResult<()> {
    limiter
        .check(key, Instant::now())
        .map_err(ApiError::rate_limited)
}

async fn caller(app: &App, parts: &Parts) -> ApiResult<Caller> {
    let token = bearer(&parts.headers).ok_or_else(|| {
        ApiError::new(
            ErrorCode::Unauthorized,
            "send Authorization: Bearer <access token>",
        )
    })?;
    app.auth.authenticate(token).await
}

/// A caller allowed one more room action (create or join) under the per-user limit.
async fn room_actor(app: &App, parts: &Parts) -> ApiResult<Caller> {
    let caller = caller(app, parts).await?;
    limit(
        &app.limits.room_actions_per_user,
        &caller.user_id.to_string(),
    )?;
    Ok(caller)
}

/// What a request brings, read as its endpoint declares.
struct Input<'a> {
    parts: &'a Parts,
    body: &'a [u8],
    code: Option<RoomCode>,
}

impl Input<'_> {
    fn body<E: Endpoint>(&self) -> ApiResult<E::Body> {
        json_body(self.parts, self.body)
    }

    fn query<E: Endpoint>(&self) -> ApiResult<E::Query> {
        query(self.parts)
    }

    fn code(&self) -> ApiResult<RoomCode> {
        // The router matched a path with `{code}`, so it is there.
        self.code
            .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such path"))
    }
}

/// A success as endpoint `E` declares it: its status, and its body typed by the declaration.
fn reply<E: Endpoint>(answer: &E::Response) -> Reply {
    let status = StatusCode::from_u16(E::METADATA.status).unwrap_or(StatusCode::OK);
    match E::METADATA.answer {
        Answer::Empty => no_content(),
        // The text endpoints (health, readiness, metrics) answer with `text` themselves.
        Answer::Json(_) | Answer::Text => json(status, answer),
    }
}

pub(crate) async fn handle(
    app: &App,
    ip: IpAddr,
    route: Route,
    parts: &Parts,
    body: &[u8],
) -> ApiResult<Reply> {
    let input = Input {
        parts,
        body,
        code: route.code,
    };
    Ok(match route.operation {
        Operation::Register => {
            limit(&app.limits.signup_per_ip, &address_key(ip).to_string())?;
            reply::<Register>(&app.auth.register(input.body::<Register>()?).await?)
        }
        Operation::Login => {
            limit(&app.limits.login_per_ip, &address_key(ip).to_string())?;
            let request = input.body::<Login>()?;
            limit(&app.limits.login_per_email, request.email.as_str())?;
            reply::<Login>(&app.auth.login(request).await?)
        }
        Operation::Guest => {
            limit(&app.limits.signup_per_ip, &address_key(ip).to_string())?;
            reply::<Guest>(&app.auth.guest(input.body::<Guest>()?).await?)
        }
        Operation::Refresh => match app.auth.refresh(input.body::<Refresh>()?).await? {
            Refreshed::Issued(pair) => reply::<Refresh>(&pair),
            Refreshed::Replayed(login_id) => {
                app.notices.send(Notice::LoginEnded { login_id }).await;
                return Err(auth::invalid_refresh());
            }
        },
        Operation::Logout => {
            let caller = caller(app, parts).await?;
            app.auth.logout(&caller, input.body::<Logout>()?).await?;
            let login_id = caller.login_id;
            app.notices.send(Notice::LoginEnded { login_id }).await;
            reply::<Logout>(&())
        }
        Operation::Me => reply::<Me>(&app.auth.me(&caller(app, parts).await?).await?),
        Operation::CreateRoom => {
            let caller = room_actor(app, parts).await?;
            let request = input.body::<CreateRoom>()?;
            reply::<CreateRoom>(&rooms::create(&app.rooms, &caller, request).await?)
        }
        Operation::JoinRoom => {
            let caller = room_actor(app, parts).await?;
            let request = input.body::<JoinRoom>()?;
            reply::<JoinRoom>(&rooms::join(&app.rooms, &caller, request).await?)
        }
        Operation::GetRoom => {
            let caller = caller(app, parts).await?;
            reply::<GetRoom>(&rooms::detail(&app.rooms, &caller, input.code()?).await?)
        }
        Operation::GetAuditLog => {
            let caller = caller(app, parts).await?;
            reply::<GetAuditLog>(&rooms::audit_log(&app.rooms, &caller, input.code()?).await?)
        }
        Operation::GetPending => {
            let caller = caller(app, parts).await?;
            reply::<GetPending>(&rooms::pending(&app.rooms, &caller, input.code()?).await?)
        }
        Operation::ListParticipants => {
            let caller = caller(app, parts).await?;
            let query = input.query::<ListParticipants>()?;
            let page = rooms::participants(&app.rooms, &caller, input.code()?, query).await?;
            reply::<ListParticipants>(&page)
        }
        Operation::Approve => {
            let caller = caller(app, parts).await?;
            let request = input.body::<Approve>()?;
            reply::<Approve>(&rooms::approve(&app.rooms, &caller, request).await?)
        }
        Operation::Deny => {
            let caller = caller(app, parts).await?;
            rooms::deny(&app.rooms, &caller, input.body::<Deny>()?).await?;
            reply::<Deny>(&())
        }
        Operation::DeleteRoom => {
            let caller = caller(app, parts).await?;
            let request = input.body::<DeleteRoom>()?;
            reply::<DeleteRoom>(&rooms::delete(&app.rooms, &caller, request.code).await?)
        }
        Operation::ListPublicRooms => {
            let query = input.query::<ListPublicRooms>()?;
            reply::<ListPublicRooms>(&rooms::public(&app.rooms, query).await?)
        }
        Operation::Embed => {
            let request = input.body::<Embed>()?;
            let url = media::embed_url(&request.media, &request.options.unwrap_or_default());
            let capabilities = media::capabilities(request.media.provider());
            reply::<Embed>(&EmbedResponse::new(url, capabilities))
        }
        Operation::ListProviders => reply::<ListProviders>(&media::providers()),
        Operation::SaveProgress => {
            let caller = caller(app, parts).await?;
            let request = input.body::<SaveProgress>()?;
            reply::<SaveProgress>(&progress::save(&app.store, &caller, request).await?)
        }
        Operation::GetProgress => {
            let caller = caller(app, parts).await?;
            let query = input.query::<GetProgress>()?;
            reply::<GetProgress>(&progress::get(&app.store, &caller, query).await?)
        }
        Operation::Resume => {
            let caller = caller(app, parts).await?;
            reply::<Resume>(&progress::resume(&app.store, &caller, input.code()?).await?)
        }
        Operation::ListProgress => {
            let caller = caller(app, parts).await?;
            reply::<ListProgress>(&progress::list(&app.store, &caller).await?)
        }
        Operation::Healthz => text("ok\n"),
        Operation::Metrics => text(app.metrics.render(&scrape(app).await)),
        Operation::Readyz => {
            if let Err(error) = app.store.ping().await {
                tracing::warn!(%error, "database not ready");
                return Err(
                    ApiError::new(ErrorCode::Unavailable, "the database does not answer")
                        .with_detail(detail::REASON, error.probe_reason()),
                );
            }
            if let Health::Down(reason) = app.bus.health() {
                tracing::warn!(%reason, "bus not ready");
                return Err(
                    ApiError::new(ErrorCode::Unavailable, "redis does not answer")
                        .with_detail(detail::REASON, "redis unreachable"),
                );
            }
            text("ready\n")
        }
    })
}
