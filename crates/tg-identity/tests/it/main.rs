//! X509-SVID and JWT-SVID verification against certificates and keys made at test time.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod jwt;
mod never_panics;
mod x509;
