//! The async client: configuration, and the one place requests are sent and answers read.

use std::time::Duration;

use http::header::HeaderValue;
use http::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tg_wire::error::ErrorBody;

use crate::Error;
use crate::base_url::BaseUrl;
use crate::transport::{Outgoing, Transport};

/// Header the gateway reads the API key from.
pub(crate) const API_KEY_HEADER: &str = "x-api-key";

/// An async client for one gateway. Cheap to clone (the connection pool is shared).
///
/// Every endpoint of the API has a method named by its OpenAPI `operationId`, taking and
/// returning the server's own wire types ([`crate::wire`]).
#[derive(Clone)]
pub struct Client {
    http: Transport,
    base: BaseUrl,
    api_key: Option<HeaderValue>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("api_key", &self.api_key.is_some())
            .field("timeout", &self.http.timeout())
            .finish()
    }
}

/// Builds a [`Client`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    api_key: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
}

impl ClientBuilder {
    /// Sends `X-API-Key` with every request (public endpoints ignore it).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Whole-request timeout (default 10 s). Trust checks that must answer fast use a
    /// shorter one; a timeout is an error, and [`Client::verify`] turns it into a denial.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connection timeout (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    pub fn build(self) -> Result<Client, Error> {
        let base = BaseUrl::parse(&self.base_url)?;
        let api_key = match self.api_key {
            None => None,
            Some(k) => {
                let mut v = HeaderValue::from_str(&k).map_err(|_| {
                    Error::InvalidRequest("the API key is not a header value".into())
                })?;
                v.set_sensitive(true);
                Some(v)
            }
        };
        let http = Transport::new(&base, self.timeout, self.connect_timeout)?;
        Ok(Client {
            http,
            base,
            api_key,
        })
    }
}

impl Client {
    /// A client for the gateway at `base_url` (e.g. `http://127.0.0.1:8002`) with an API key.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, Error> {
        Self::builder(base_url).api_key(api_key).build()
    }

    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_owned(),
            api_key: None,
            timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
        }
    }

    /// The gateway's base URL, without query, fragment or trailing `/`.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    #[cfg(feature = "live")]
    pub(crate) fn base(&self) -> &BaseUrl {
        &self.base
    }

    #[cfg(feature = "live")]
    pub(crate) fn timeout(&self) -> Duration {
        self.http.timeout()
    }

    pub(crate) fn api_key(&self) -> Option<&HeaderValue> {
        self.api_key.as_ref()
    }

    pub(crate) fn call(&self, method: Method, segments: &[&str]) -> Call<'_> {
        Call {
            client: self,
            method,
            url: self.base.join(segments),
            query: None,
            body: Ok(None),
            dpop: None,
        }
    }

    pub(crate) fn get(&self, segments: &[&str]) -> Call<'_> {
        self.call(Method::GET, segments)
    }

    pub(crate) fn post(&self, segments: &[&str]) -> Call<'_> {
        self.call(Method::POST, segments)
    }

    pub(crate) fn put(&self, segments: &[&str]) -> Call<'_> {
        self.call(Method::PUT, segments)
    }

    pub(crate) fn patch(&self, segments: &[&str]) -> Call<'_> {
        self.call(Method::PATCH, segments)
    }

    pub(crate) fn delete(&self, segments: &[&str]) -> Call<'_> {
        self.call(Method::DELETE, segments)
    }
}

/// A body and its media type.
type Body = (&'static str, Vec<u8>);

/// One request being built.
pub(crate) struct Call<'a> {
    client: &'a Client,
    method: Method,
    /// The endpoint's URL without its query (what a DPoP proof names).
    url: String,
    query: Option<String>,
    /// An encoding failure is kept and reported when the call is sent.
    body: Result<Option<Body>, Error>,
    /// A key to send a DPoP proof by (RFC 9449): for this method and URL, made when sent.
    dpop: Option<&'a tg_tokens::DpopKey>,
}

impl<'a> Call<'a> {
    /// Sends a `DPoP` proof by `key` with the call, so the token it asks for is bound to it.
    pub(crate) fn dpop(mut self, key: &'a tg_tokens::DpopKey) -> Self {
        self.dpop = Some(key);
        self
    }

    pub(crate) fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = serde_json::to_vec(body)
            .map(|b| Some(("application/json", b)))
            .map_err(|e| Error::InvalidRequest(e.to_string()));
        self
    }

    pub(crate) fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        self.body = serde_urlencoded::to_string(body)
            .map(|b| Some(("application/x-www-form-urlencoded", b.into_bytes())))
            .map_err(|e| Error::InvalidRequest(e.to_string()));
        self
    }

    pub(crate) fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Self {
        match serde_urlencoded::to_string(query) {
            Ok(q) if q.is_empty() => self.query = None,
            Ok(q) => self.query = Some(q),
            Err(e) => self.body = Err(Error::InvalidRequest(e.to_string())),
        }
        self
    }

    /// Sends the request; the status and the whole body of the answer, or the error a
    /// non-2xx answer stands for.
    async fn send(self) -> Result<(StatusCode, Vec<u8>), Error> {
        self.send_keeping(None)
            .await
            .map(|(status, body, _)| (status, body))
    }

    /// Sends, and keeps the value of the answer's header `keep` (if named and present).
    async fn send_keeping(
        self,
        keep: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>, Option<String>), Error> {
        let client = self.client;
        let proof = self.dpop.map(|key| {
            key.proof(
                self.method.as_str(),
                &self.url,
                None,
                tg_core::Timestamp::now(),
            )
        });
        let mut headers = Vec::with_capacity(2);
        if let Some(proof) = proof {
            let proof = HeaderValue::try_from(proof).map_err(|_| {
                Error::InvalidRequest("the DPoP proof is not a header value".into())
            })?;
            headers.push(("dpop", proof));
        }
        if let Some(key) = client.api_key() {
            headers.push((API_KEY_HEADER, key.clone()));
        }
        let answer = client
            .http
            .send(Outgoing {
                method: self.method,
                url: match self.query {
                    Some(q) => format!("{}?{q}", self.url),
                    None => self.url,
                },
                headers,
                body: self.body?,
            })
            .await?;
        let (status, body) = (answer.status, answer.body);
        let kept = keep
            .and_then(|name| answer.headers.get(name))
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if status.is_success() {
            Ok((status, body.to_vec(), kept))
        } else {
            Err(refusal(status, &body))
        }
    }

    /// The answer, parsed as `T`.
    pub(crate) async fn fetch<T: DeserializeOwned>(self) -> Result<T, Error> {
        let (status, body) = self.send().await?;
        serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse {
            status: status.as_u16(),
            detail: e.to_string(),
        })
    }

    /// A list page: the answer's items, and the next page's cursor from the header `next`.
    pub(crate) async fn page<T: DeserializeOwned>(
        self,
        next: &str,
    ) -> Result<(Vec<T>, Option<u64>), Error> {
        let (status, body, cursor) = self.send_keeping(Some(next)).await?;
        let invalid = |detail: String| Error::InvalidResponse {
            status: status.as_u16(),
            detail,
        };
        let items = serde_json::from_slice(&body).map_err(|e| invalid(e.to_string()))?;
        let cursor = cursor
            .map(|c| {
                c.parse()
                    .map_err(|_| invalid(format!("`{next}: {c}` is not a number")))
            })
            .transpose()?;
        Ok((items, cursor))
    }

    /// The answer as text (`/metrics`, CSV exports).
    pub(crate) async fn text(self) -> Result<String, Error> {
        let (status, body) = self.send().await?;
        String::from_utf8(body).map_err(|e| Error::InvalidResponse {
            status: status.as_u16(),
            detail: e.to_string(),
        })
    }

    /// The answer's bytes (log tiles).
    pub(crate) async fn bytes(self) -> Result<Vec<u8>, Error> {
        self.send().await.map(|(_, body)| body)
    }

    /// An answer without a body (204).
    pub(crate) async fn empty(self) -> Result<(), Error> {
        self.send().await.map(drop)
    }
}

/// The error a non-2xx answer stands for: the gateway's envelope when it sent one.
pub(crate) fn refusal(status: StatusCode, body: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(e) => Error::Api {
            status: status.as_u16(),
            code: e.code,
            detail: e.detail,
        },
        Err(_) => Error::Api {
            status: status.as_u16(),
            code: format!("http_{}", status.as_u16()),
            detail: String::from_utf8_lossy(body).chars().take(200).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_the_base_and_encode_each_segment() {
        for base in ["http://gw.example", "http://gw.example/"] {
            let c = Client::builder(base).build().unwrap();
            assert_eq!(
                c.base.join(&["agents", "ag_1"]),
                "http://gw.example/agents/ag_1"
            );
        }
        // A gateway behind a path prefix.
        for base in [
            "https://gw.example/trust",
            "https://gw.example/trust/?x=1#f",
        ] {
            let c = Client::builder(base).build().unwrap();
            assert_eq!(
                c.base.join(&["receipts", "a/b?c"]),
                "https://gw.example/trust/receipts/a%2Fb%3Fc"
            );
        }
    }

    #[test]
    fn bad_configuration_is_refused_up_front() {
        for base in [
            "gw.example",
            "ftp://gw.example",
            "mailto:ops@gw.example",
            "",
        ] {
            assert!(
                matches!(Client::builder(base).build(), Err(Error::InvalidRequest(_))),
                "{base}"
            );
        }
        assert!(matches!(
            Client::new("http://gw.example", "line\nbreak"),
            Err(Error::InvalidRequest(_))
        ));
        // The key never shows in debug output.
        let c = Client::new("http://gw.example", "secret-key-123").unwrap();
        assert!(!format!("{c:?}").contains("secret-key-123"));
    }

    #[test]
    fn refusals_keep_the_envelope_or_the_status() {
        let e = refusal(
            StatusCode::NOT_FOUND,
            br#"{"code":"not_found","detail":"agent `x` not found"}"#,
        );
        assert_eq!(
            e,
            Error::Api {
                status: 404,
                code: "not_found".into(),
                detail: "agent `x` not found".into()
            }
        );
        assert!(e.is_not_found());
        let e = refusal(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(e.code(), Some("http_502"));
    }
}
