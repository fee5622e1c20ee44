//! The state every request handler reaches: settings, the store, the auth service, the
//! real-time rooms and the rate limits.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Auth, KeyRing};
use crate::config::{Config, ForwardedHeader, Switch, TrustedProxy};
use crate::http::Origins;
use crate::metrics::Metrics;
use crate::rate_limit::RateLimiter;
use crate::realtime::Realtime;
use crate::store::{self, Store};

/// Shared by all connections behind one `Arc`.
pub(crate) struct App {
    pub(crate) store: Store,
    pub(crate) auth: Arc<Auth>,
    pub(crate) realtime: Realtime,
    pub(crate) limits: Limits,
    pub(crate) metrics: Arc<Metrics>,
    /// Every connection, socket and room task, for the drain and `/metrics`.
    pub(crate) tasks: TaskTracker,
    /// Peers whose forwarding header names the client, and which header that is.
    pub(crate) trusted_proxies: Vec<TrustedProxy>,
    pub(crate) forwarded_header: ForwardedHeader,
    /// Browser origins allowed to call the API and open sockets.
    pub(crate) cors: Origins,
}

/// The HTTP limits; all lifted by `--rate-limits off`.
pub(crate) struct Limits {
    pub(crate) login_per_ip: RateLimiter,
    pub(crate) login_per_email: RateLimiter,
    pub(crate) signup_per_ip: RateLimiter,
    pub(crate) room_actions_per_user: RateLimiter,
    /// Open rooms one user may host; `None` when lifted.
    pub(crate) rooms_per_user: Option<u32>,
    /// Join requests one room may hold pending; `None` when lifted.
    pub(crate) pending_per_room: Option<u32>,
}

impl Limits {
    fn new(config: &Config) -> Self {
        let per_minute = |n: u32| match config.rate_limits {
            Switch::On => RateLimiter::new(n, Duration::from_secs(60)),
            Switch::Off => RateLimiter::disabled(),
        };
        Self {
            login_per_ip: per_minute(config.logins_per_ip_per_minute),
            login_per_email: per_minute(config.logins_per_email_per_minute),
            signup_per_ip: per_minute(config.signups_per_ip_per_minute),
            room_actions_per_user: per_minute(config.room_actions_per_user_per_minute),
            rooms_per_user: (config.rate_limits == Switch::On).then_some(config.max_rooms_per_user),
            pending_per_room: (config.rate_limits == Switch::On)
                .then_some(config.max_pending_per_room),
        }
    }
}

impl App {
    /// Connects the store (running migrations) and builds the services with the token-signing
    /// `keys`; the real-time rooms stop with `shutdown` and run their tasks on `tasks`.
    pub(crate) async fn start(
        config: &Config,
        keys: &KeyRing,
        cors: Origins,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Self, store::Error> {
        let store = Store::connect(&config.database_url).await?;
        let auth = Arc::new(Auth::new(store.clone(), keys, config));
        let metrics = Arc::new(Metrics::default());
        let realtime = Realtime::new(
            config,
            store.clone(),
            Arc::clone(&auth),
            Arc::clone(&metrics),
            shutdown,
            tasks.clone(),
        );
        Ok(Self {
            store,
            auth,
            realtime,
            limits: Limits::new(config),
            metrics,
            tasks,
            trusted_proxies: config.trusted_proxies.clone(),
            forwarded_header: config.forwarded_header,
            cors,
        })
    }
}
