//! The blocking client: the async client driven by a runtime of its own.

use std::future::Future;

#[cfg(feature = "live")]
use tg_audit::LiveEvent;
use tg_core::AgentId;
use tg_joy::TrustResult;
use tg_tokens::TokenClaims;

use crate::{ClientBuilder, Error};

/// A blocking client for one gateway: every method of [`crate::Client`], waiting for the
/// answer. It owns a single-threaded tokio runtime, so it needs none from its caller — and
/// must not be called from inside one ([`Error::BlockingInAsync`]).
#[derive(Debug)]
pub struct Client {
    inner: crate::Client,
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for Client {
    fn drop(&mut self) {
        // A runtime dropped on an async thread would block it (tokio refuses with a panic):
        // there, it is shut down in the background instead.
        if let Some(rt) = self.runtime.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            rt.shutdown_background();
        }
    }
}

impl Client {
    /// A client for the gateway at `base_url` with an API key.
    pub fn new(base_url: &str, api_key: &str) -> Result<Self, Error> {
        Self::from_builder(crate::Client::builder(base_url).api_key(api_key))
    }

    /// A client configured like its async twin (timeouts, no key, …).
    pub fn from_builder(builder: ClientBuilder) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::InvalidRequest(format!("cannot start the client runtime: {e}")))?;
        Ok(Self {
            inner: builder.build()?,
            runtime: Some(runtime),
        })
    }

    /// The async client underneath (same configuration and connection pool).
    pub fn inner(&self) -> &crate::Client {
        &self.inner
    }

    /// Runs one request to completion on the client's runtime.
    pub(crate) fn run<T>(&self, f: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
        match (&self.runtime, tokio::runtime::Handle::try_current()) {
            (Some(rt), Err(_)) => rt.block_on(f),
            _ => Err(Error::BlockingInAsync),
        }
    }

    /// Joy §7.1, fail-closed: see [`crate::Client::verify`].
    pub fn verify(&self, agent: &AgentId, min_score: f64) -> TrustResult {
        match self.run(async { Ok(self.inner.verify(agent, min_score).await) }) {
            Ok(r) => r,
            Err(e) => crate::verify::denial(min_score, Some(agent.clone()), None, &e),
        }
    }

    /// Joy §7.1 by name, fail-closed: see [`crate::Client::verify_named`].
    pub fn verify_named(&self, name: &str, min_score: f64) -> TrustResult {
        match self.run(async { Ok(self.inner.verify_named(name, min_score).await) }) {
            Ok(r) => r,
            Err(e) => crate::verify::denial(min_score, None, Some(name.to_owned()), &e),
        }
    }

    /// Connects to the live feed: see [`crate::Client::live_feed`].
    #[cfg(feature = "live")]
    pub fn live_feed(&self) -> Result<LiveFeed<'_>, Error> {
        let feed = self.run(self.inner.live_feed())?;
        Ok(LiveFeed { client: self, feed })
    }

    /// An offline token verifier: see [`crate::TokenVerifier::fetch`].
    pub fn token_verifier(&self, issuer: &str, audience: &str) -> Result<TokenVerifier<'_>, Error> {
        let verifier = self.run(crate::TokenVerifier::fetch(&self.inner, issuer, audience))?;
        Ok(TokenVerifier {
            client: self,
            verifier,
        })
    }
}

/// The live feed, blocking: an iterator of events that ends when the gateway closes it.
#[cfg(feature = "live")]
#[derive(Debug)]
pub struct LiveFeed<'a> {
    client: &'a Client,
    feed: crate::LiveFeed,
}

#[cfg(feature = "live")]
impl LiveFeed<'_> {
    /// Sends the protocol's text `ping`; its `pong` is consumed by the feed.
    pub fn ping(&mut self) -> Result<(), Error> {
        self.client.run(self.feed.ping())
    }

    /// Closes the connection.
    pub fn close(mut self) -> Result<(), Error> {
        self.client.run(self.feed.close())
    }
}

#[cfg(feature = "live")]
impl Iterator for LiveFeed<'_> {
    type Item = Result<LiveEvent, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        self.client
            .run(async { Ok(self.feed.next().await) })
            .unwrap_or_else(|e| Some(Err(e)))
    }
}

/// Offline token verification, blocking: see [`crate::TokenVerifier`].
#[derive(Debug)]
pub struct TokenVerifier<'a> {
    client: &'a Client,
    verifier: crate::TokenVerifier,
}

impl TokenVerifier<'_> {
    /// See [`crate::TokenVerifier::verify`].
    pub fn verify(&self, token: &str) -> Result<TokenClaims, Error> {
        self.client.run(self.verifier.verify(token))
    }

    /// See [`crate::TokenVerifier::verify_security_event`].
    pub fn verify_security_event(
        &self,
        set: &str,
        audience: &str,
    ) -> Result<crate::SecurityEvent, Error> {
        self.client
            .run(self.verifier.verify_security_event(set, audience))
    }

    /// See [`crate::TokenVerifier::authorize`].
    pub fn authorize(&self, token: &str, action: &str) -> Result<TokenClaims, Error> {
        self.client.run(self.verifier.authorize(token, action))
    }
}
