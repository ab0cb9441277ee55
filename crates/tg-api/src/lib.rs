#![doc = include_str!("../README.md")]

mod a2a;
mod admin;
mod agents;
mod audit;
mod auth;
mod authorize;
mod dashboard;
mod delegations;
mod dispatch;
mod dpop;
mod dto;
mod error;
mod identity;
mod ids;
mod json_body;
mod lifecycle;
mod log;
mod metrics;
mod oauth;
mod openapi;
mod operation_ids;
mod policy;
mod rate_limit;
mod receipts;
mod request_id;
mod route_match;
mod routes;
mod signing_keys;
mod ssf;
mod streaming;
mod system;
mod vouches;
mod webhooks;
mod ws;

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::{App, HttpServer, web};
use tg_service::Gateway;

pub use error::ApiError;
pub use openapi::openapi;
pub use rate_limit::{PlanQuota, RateLimits};
pub use routes::Route;

/// Largest JSON body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Shared state of every worker.
#[derive(Debug, Clone)]
pub struct AppState {
    pub gateway: Arc<Gateway>,
    /// The multi-threaded runtime use cases run on (see [`AppState::call`]).
    runtime: tokio::runtime::Handle,
    limiters: Arc<rate_limit::Limiters>,
    metrics: Arc<metrics::HttpMetrics>,
    metrics_public: bool,
}

impl AppState {
    /// Runs a background task (e.g. an export producer) on the multi-threaded runtime.
    pub(crate) fn spawn(&self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.runtime.spawn(task);
    }

    /// Runs a use case as its own task on the multi-threaded runtime; the future answers
    /// when it is done.
    ///
    /// A request whose handler is dropped (client gone, a sibling extractor failed) does not
    /// cancel the use case half-way: it runs to completion or rollback, and the answer is
    /// discarded. It also keeps the SQLite adapter's blocking calls off actix's
    /// single-threaded worker runtimes.
    ///
    /// The task starts here, not at the first poll, so the returned future holds only the
    /// task's handle: a handler's future (which actix boxes for every request) stays small
    /// instead of carrying the use case's arguments on its fast paths too.
    pub fn call<T, F, Fut>(
        &self,
        f: F,
    ) -> impl std::future::Future<Output = Result<T, ApiError>> + use<T, F, Fut>
    where
        F: FnOnce(Arc<Gateway>) -> Fut,
        Fut: std::future::Future<Output = Result<T, tg_service::ServiceError>> + Send + 'static,
        T: Send + 'static,
    {
        // In the request's span: the use case's log lines carry its request id.
        let task = self.runtime.spawn(tracing::Instrument::instrument(
            f(Arc::clone(&self.gateway)),
            tracing::Span::current(),
        ));
        async move {
            match task.await {
                Ok(result) => result.map_err(ApiError::from),
                Err(e) => Err(tg_service::ServiceError::internal_because(
                    "use case task failed",
                    e,
                )
                .into()),
            }
        }
    }
}

/// Mounts every route, in matching order (`/agents/discover` before `/agents/{id}`).
fn mount(r: &mut routes::Routes) {
    system::routes(r);
    agents::routes(r);
    a2a::routes(r);
    receipts::routes(r);
    authorize::routes(r);
    policy::routes(r);
    lifecycle::routes(r);
    oauth::routes(r);
    identity::routes(r);
    admin::routes(r);
    signing_keys::routes(r);
    log::routes(r);
    audit::routes(r);
    delegations::routes(r);
    vouches::routes(r);
    webhooks::routes(r);
    ssf::routes(r);
    ws::routes(r);
    dashboard::routes(r);
    metrics::routes(r);
    openapi::routes(r);
}

/// Registers every route, the docs UI and the extractor configuration.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
        .app_data(error::query_config())
        .app_data(error::path_config());
    let mut routes = routes::Routes::mount(cfg);
    mount(&mut routes);
    routes.close();
    cfg.service(openapi::swagger_ui());
}

/// Every route the server mounts (the docs UI's asset files aside), in matching order.
pub fn route_table() -> Vec<Route> {
    let mut r = routes::Routes::record();
    mount(&mut r);
    r.into_table()
}

/// How the HTTP server runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerOptions {
    /// Worker threads.
    pub workers: usize,
    pub rate_limits: RateLimits,
    /// `GET /metrics` without a key (for scrapers that cannot send `X-API-Key`).
    pub metrics_public: bool,
}

/// The HTTP server on `listener`.
///
/// Must be called inside a multi-threaded tokio runtime: use cases run there.
pub fn server(
    gateway: Arc<Gateway>,
    listener: TcpListener,
    options: ServerOptions,
) -> std::io::Result<actix_web::dev::Server> {
    let ServerOptions {
        workers,
        rate_limits: limits,
        metrics_public,
    } = options;
    let runtime = tokio::runtime::Handle::try_current().map_err(std::io::Error::other)?;
    if runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::MultiThread {
        return Err(std::io::Error::other(
            "tg_api::server needs a multi-threaded tokio runtime",
        ));
    }
    let limiters = Arc::new(rate_limit::Limiters::new(
        limits,
        gateway.admin_account().id.clone(),
    ));
    let metrics = Arc::new(metrics::HttpMetrics::new(&gateway));
    let state = web::Data::new(AppState {
        gateway,
        runtime,
        limiters,
        metrics,
        metrics_public,
    });
    let on_connect = Arc::clone(&state.gateway);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(actix_web::middleware::from_fn(auth::authenticate))
            .wrap(actix_web::middleware::from_fn(metrics::record))
            .wrap(actix_web::middleware::from_fn(request_id::trace))
            .configure(configure)
    })
    .on_connect(move |conn, data| auth::connection_peer(&on_connect, conn, data))
    .workers(workers.max(1))
    .listen(listener)?
    .run();
    Ok(server)
}

/// The origin (`scheme://host`) the caller reached the gateway at, as actix reads it
/// (forwarding headers included): what DPoP proofs name in `htu` and what the SSF metadata
/// builds its URLs on.
pub(crate) fn origin(req: &actix_web::HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}
