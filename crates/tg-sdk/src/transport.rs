//! The connection the clients send through: hyper's pooled HTTP/1.1 client, over rustls
//! (ring) trusting the system's root certificates for `https://`.
//!
//! No proxy discovery and no redirects: a client follows no `Location` with its API key,
//! and a 3xx is returned as the refusal it is.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, USER_AGENT};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::Error;
use crate::base_url::BaseUrl;

const AGENT: &str = concat!("tg-sdk/", env!("CARGO_PKG_VERSION"));

/// A pooled HTTP client (cheap to clone) with its time limits.
#[derive(Clone)]
pub(crate) struct Transport {
    http: hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    connect_timeout: Duration,
}

/// One request, ready to send.
pub(crate) struct Outgoing {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// A media type and the body.
    pub body: Option<(&'static str, Vec<u8>)>,
}

/// An answer, read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

impl Transport {
    /// A client for `base`. For an `https://` base the system's roots are loaded here (the
    /// client follows no redirect, so an `http://` one never needs them); with none to
    /// trust it is refused now rather than failing every call.
    pub(crate) fn new(
        base: &BaseUrl,
        timeout: Duration,
        connect_timeout: Duration,
    ) -> Result<Self, Error> {
        let mut roots = rustls::RootCertStore::empty();
        if base.is_tls() {
            let loaded = rustls_native_certs::load_native_certs();
            roots.add_parsable_certificates(loaded.certs);
            if roots.is_empty() {
                let why = loaded
                    .errors
                    .first()
                    .map_or_else(|| "none found".to_owned(), ToString::to_string);
                return Err(Error::InvalidRequest(format!(
                    "no trusted root certificates for https:// ({why})"
                )));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::InvalidRequest(format!("TLS: {e}")))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(tcp);
        let http =
            hyper_util::client::legacy::Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            http,
            timeout,
            connect_timeout,
        })
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `out` and reads the whole answer, within the request timeout.
    pub(crate) async fn send(&self, out: Outgoing) -> Result<Answer, Error> {
        let uri: http::Uri = out
            .url
            .parse()
            .map_err(|e| Error::InvalidRequest(format!("URL `{}`: {e}", out.url)))?;
        let mut req = Request::builder()
            .method(out.method)
            .uri(uri)
            .header(USER_AGENT, AGENT);
        for (name, value) in out.headers {
            req = req.header(name, value);
        }
        let body = match out.body {
            Some((media_type, bytes)) => {
                req = req.header(CONTENT_TYPE, media_type);
                Full::new(Bytes::from(bytes))
            }
            None => Full::default(),
        };
        let req = req
            .body(body)
            .map_err(|e| Error::InvalidRequest(e.to_string()))?;
        let exchange = async {
            let resp = self.http.request(req).await.map_err(|e| self.failed(&e))?;
            let (parts, body) = resp.into_parts();
            let body = body.collect().await.map_err(|e| self.failed(&e))?;
            Ok(Answer {
                status: parts.status,
                headers: parts.headers,
                body: body.to_bytes(),
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Error::Timeout(self.timeout))?
    }

    /// The error a failed exchange stands for; the source chain says why (refused, reset,
    /// DNS, TLS).
    fn failed(&self, e: &(dyn std::error::Error + 'static)) -> Error {
        let timed_out = std::iter::successors(Some(e), |e| e.source()).any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        });
        if timed_out {
            Error::Timeout(self.connect_timeout)
        } else {
            Error::Transport(tg_core::ErrorChain(e).to_string())
        }
    }
}
