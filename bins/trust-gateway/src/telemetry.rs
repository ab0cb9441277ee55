//! Logging: JSON lines in production (no terminal), human-readable in a terminal.

use tracing_subscriber::EnvFilter;

pub(crate) fn init(json: bool) {
    init_at(json, "info");
}

/// For command-line operations: warnings and errors only, unless `LOG_LEVEL` says more.
pub(crate) fn init_quiet(json: bool) {
    init_at(json, "warn");
}

fn init_at(json: bool, default: &str) {
    let filter = EnvFilter::try_from_env("LOG_LEVEL").unwrap_or_else(|_| EnvFilter::new(default));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    // A second init (tests start several gateways in one process) keeps the first.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
