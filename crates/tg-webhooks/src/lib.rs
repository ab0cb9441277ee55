#![doc = include_str!("../README.md")]

#[cfg(feature = "delivery")]
mod deliver;
mod model;
#[cfg(feature = "delivery")]
mod schedule;
pub mod security_events;
mod signing;
#[cfg(feature = "delivery")]
mod ssrf;
mod store;

#[cfg(feature = "delivery")]
pub use deliver::{AttemptResult, Body, Deliverer, Message, Verdict};
pub use model::{Attempt, Delivery, DeliveryStatus, Endpoint, EventKind, OutboxEvent, SetStream};
#[cfg(feature = "delivery")]
pub use schedule::{MAX_RETRY_AFTER_SECS, RETRY_DELAYS_SECS, next_attempt, parse_retry_after};
pub use signing::{
    RECOMMENDED_PLAIN_CHARS, SECRET_PREFIX, SecretError, SigningSecret, signature_header,
    weak_secret_warning,
};
#[cfg(feature = "delivery")]
pub use ssrf::{MAX_URL_LEN, UrlError, UrlPolicy};
pub use store::WebhookStore;
