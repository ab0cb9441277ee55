#![doc = include_str!("../README.md")]

mod deliver;
mod model;
mod schedule;
mod signing;
mod ssrf;
mod store;

pub use deliver::{AttemptResult, Deliverer, Message, Verdict};
pub use model::{Attempt, Delivery, DeliveryStatus, Endpoint, EventKind, OutboxEvent};
pub use schedule::{MAX_RETRY_AFTER_SECS, RETRY_DELAYS_SECS, next_attempt, parse_retry_after};
pub use signing::{
    RECOMMENDED_PLAIN_CHARS, SECRET_PREFIX, SecretError, SigningSecret, signature_header,
    weak_secret_warning,
};
pub use ssrf::{MAX_URL_LEN, UrlError, UrlPolicy};
pub use store::WebhookStore;
