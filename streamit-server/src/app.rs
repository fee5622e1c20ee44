//! The state every request handler reaches: settings, the store, the bus, the auth and room
//! services, the real-time rooms and the rate limits.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::{Auth, KeyRing};
use crate::bus::{Bus, Timed};
use crate::config::{Config, ForwardedHeader, Switch, TrustedProxy};
use crate::http::Origins;
use crate::metrics::Metrics;
use crate::notices::Notices;
use crate::rate_limit::RateLimiter;
use crate::realtime::Realtime;
use crate::rooms::Rooms;
use crate::store::{self, Store};

/// Shared by all connections behind one `Arc`.
pub(crate) struct App {
    pub(crate) store: Store,
    /// How this node reaches the others (in-process when it is alone).
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) notices: Notices,
    pub(crate) auth: Arc<Auth>,
    pub(crate) rooms: Rooms,
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
        }
    }
}

impl App {
    /// Connects the store (running migrations) and builds the services on `bus` with the
    /// token-signing `keys`; the real-time rooms stop with `shutdown` and run their tasks on
    /// `tasks`.
    pub(crate) async fn start(
        config: &Config,
        keys: &KeyRing,
        bus: Arc<dyn Bus>,
        cors: Origins,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Result<Self, store::Error> {
        let metrics = Arc::new(Metrics::default());
        let store = Store::connect(&config.database_url)
            .await?
            .timed(metrics.store_timer());
        let auth = Arc::new(Auth::new(store.clone(), keys, config));
        // Round trips are worth timing only when they leave the process.
        let bus: Arc<dyn Bus> = if config.redis_url.is_some() {
            Arc::new(Timed::new(bus, Arc::clone(&metrics)))
        } else {
            bus
        };
        let notices = Notices::new(Arc::clone(&bus), &config.redis_prefix);
        let limited = config.rate_limits == Switch::On;
        let rooms = Rooms {
            store: store.clone(),
            notices: notices.clone(),
            rooms_per_user: limited.then_some(config.max_rooms_per_user),
            pending_per_room: limited.then_some(config.max_pending_per_room),
        };
        let realtime = Realtime::start(
            config,
            store.clone(),
            Arc::clone(&auth),
            notices.clone(),
            Arc::clone(&metrics),
            shutdown,
            tasks.clone(),
        )
        .await;
        Ok(Self {
            store,
            bus,
            notices,
            auth,
            rooms,
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
