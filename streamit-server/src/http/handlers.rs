//! One arm per route: check limits and the caller, decode the input, call the service, answer.

use std::net::IpAddr;
use std::time::Instant;

use http::StatusCode;
use http::request::Parts;
use streamit_protocol::v1::{
    EmbedRequest, EmbedResponse, ErrorCode, LoginRequest, RoomState, detail,
};

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

pub(crate) async fn handle(
    app: &App,
    ip: IpAddr,
    route: Route,
    parts: &Parts,
    body: &[u8],
) -> ApiResult<Reply> {
    Ok(match route {
        Route::Register => {
            limit(&app.limits.signup_per_ip, &address_key(ip).to_string())?;
            json(
                StatusCode::CREATED,
                &app.auth.register(json_body(parts, body)?).await?,
            )
        }
        Route::Login => {
            limit(&app.limits.login_per_ip, &address_key(ip).to_string())?;
            let request: LoginRequest = json_body(parts, body)?;
            limit(&app.limits.login_per_email, request.email.as_str())?;
            json(StatusCode::OK, &app.auth.login(request).await?)
        }
        Route::Guest => {
            limit(&app.limits.signup_per_ip, &address_key(ip).to_string())?;
            json(
                StatusCode::CREATED,
                &app.auth.guest(json_body(parts, body)?).await?,
            )
        }
        Route::Refresh => match app.auth.refresh(json_body(parts, body)?).await? {
            Refreshed::Issued(pair) => json(StatusCode::OK, &pair),
            Refreshed::Replayed(login_id) => {
                app.notices.send(Notice::LoginEnded { login_id }).await;
                return Err(auth::invalid_refresh());
            }
        },
        Route::Logout => {
            let caller = caller(app, parts).await?;
            app.auth.logout(&caller, json_body(parts, body)?).await?;
            let login_id = caller.login_id;
            app.notices.send(Notice::LoginEnded { login_id }).await;
            no_content()
        }
        Route::Me => json(
            StatusCode::OK,
            &app.auth.me(&caller(app, parts).await?).await?,
        ),
        Route::CreateRoom => {
            let caller = room_actor(app, parts).await?;
            json(
                StatusCode::CREATED,
                &rooms::create(&app.rooms, &caller, json_body(parts, body)?).await?,
            )
        }
        Route::JoinRoom => {
            let caller = room_actor(app, parts).await?;
            json(
                StatusCode::OK,
                &rooms::join(&app.rooms, &caller, json_body(parts, body)?).await?,
            )
        }
        Route::RoomDetail(code) => json(
            StatusCode::OK,
            &rooms::detail(&app.rooms, &caller(app, parts).await?, code).await?,
        ),
        Route::AuditLog(code) => json(
            StatusCode::OK,
            &rooms::audit_log(&app.rooms, &caller(app, parts).await?, code).await?,
        ),
        Route::Pending(code) => json(
            StatusCode::OK,
            &rooms::pending(&app.rooms, &caller(app, parts).await?, code).await?,
        ),
        Route::Participants(code) => {
            let caller = caller(app, parts).await?;
            json(
                StatusCode::OK,
                &rooms::participants(&app.rooms, &caller, code, query(parts)?).await?,
            )
        }
        Route::Approve => {
            let caller = caller(app, parts).await?;
            json(
                StatusCode::OK,
                &rooms::approve(&app.rooms, &caller, json_body(parts, body)?).await?,
            )
        }
        Route::Deny => {
            let caller = caller(app, parts).await?;
            rooms::deny(&app.rooms, &caller, json_body(parts, body)?).await?;
            no_content()
        }
        Route::DeleteRoom => {
            let caller = caller(app, parts).await?;
            let request: streamit_protocol::v1::RoomCodeRequest = json_body(parts, body)?;
            json(
                StatusCode::OK,
                &rooms::delete(&app.rooms, &caller, request.code).await?,
            )
        }
        Route::PublicRooms => json(
            StatusCode::OK,
            &rooms::public(&app.rooms, query(parts)?).await?,
        ),
        Route::Embed => {
            let request: EmbedRequest = json_body(parts, body)?;
            let url = media::embed_url(&request.media, &request.options.unwrap_or_default());
            json(
                StatusCode::OK,
                &EmbedResponse::new(url, media::capabilities(request.media.provider())),
            )
        }
        Route::Providers => json(StatusCode::OK, &media::providers()),
        Route::SaveProgress => {
            let caller = caller(app, parts).await?;
            json(
                StatusCode::OK,
                &progress::save(&app.store, &caller, json_body(parts, body)?).await?,
            )
        }
        Route::GetProgress => {
            let caller = caller(app, parts).await?;
            json(
                StatusCode::OK,
                &progress::get(&app.store, &caller, query(parts)?).await?,
            )
        }
        Route::Resume(code) => json(
            StatusCode::OK,
            &progress::resume(&app.store, &caller(app, parts).await?, code).await?,
        ),
        Route::ProgressList => json(
            StatusCode::OK,
            &progress::list(&app.store, &caller(app, parts).await?).await?,
        ),
        Route::Healthz => text("ok\n"),
        Route::Metrics => text(app.metrics.render(&scrape(app).await)),
        Route::Readyz => {
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
