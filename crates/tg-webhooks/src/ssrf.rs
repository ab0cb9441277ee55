//! Where webhooks may go: http(s) URLs whose every address is public, unless the operator
//! allow-listed it. Checked when an endpoint is saved and again, after DNS resolution, on
//! every delivery (the connection uses exactly the checked addresses: no DNS rebinding).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use reqwest::Url;

pub const MAX_URL_LEN: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`url` is not a valid absolute URL")]
    Malformed,
    #[error("`url` must be http or https")]
    Scheme,
    #[error("`url` must not carry credentials")]
    Credentials,
    #[error("`url` is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("`url` points to {0}, a non-public address (allow-list it in WEBHOOK_ALLOW_NETS)")]
    NonPublic(IpAddr),
    #[error("`url` host `{0}` does not resolve")]
    Unresolvable(String),
}

/// Networks no webhook may reach by default (IANA special-purpose registries).
const BLOCKED: &[&str] = &[
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.0.2.0/24",
    "192.88.99.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "198.51.100.0/24",
    "203.0.113.0/24",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1) and IPv4-translated (RFC 2765)
    // addresses: `[::127.0.0.1]`, `[::ffff:0:127.0.0.1]` reach IPv4 hosts on some stacks.
    "::/96",
    "::ffff:0:0:0/96",
    "64:ff9b::/96",
    "64:ff9b:1::/48",
    "100::/64",
    "2001::/23",
    "2001:db8::/32",
    "2002::/16",
    "fc00::/7",
    "fe80::/10",
    "ff00::/8",
];

/// The operator's allow-list (`WEBHOOK_ALLOW_NETS`), checked before the block list.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    allow: Vec<IpNet>,
    blocked: Vec<IpNet>,
}

impl UrlPolicy {
    pub fn new(allow: Vec<IpNet>) -> Self {
        let blocked = BLOCKED.iter().filter_map(|n| n.parse().ok()).collect();
        Self { allow, blocked }
    }

    /// `10.0.0.0/8, ::1/128, 127.0.0.1` (a bare address is a single host).
    pub fn parse_allow_list(s: &str) -> Result<Vec<IpNet>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{p}` is not an address or CIDR network"))
            })
            .collect()
    }

    /// Refuses non-public addresses unless allow-listed. IPv4-mapped IPv6 addresses are
    /// judged as the IPv4 address they carry.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), UrlError> {
        let ip = canonical(ip);
        if self.allow.iter().any(|n| n.contains(&ip)) {
            return Ok(());
        }
        if self.blocked.iter().any(|n| n.contains(&ip)) {
            return Err(UrlError::NonPublic(ip));
        }
        Ok(())
    }

    /// Parses and checks a URL without resolving it: scheme, credentials, length, and the
    /// address when the host is an IP literal.
    pub fn check_url(&self, raw: &str) -> Result<Url, UrlError> {
        if raw.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        let url = Url::parse(raw).map_err(|_| UrlError::Malformed)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::Credentials);
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(IpAddr::V4(ip))?,
            Some(url::Host::Ipv6(ip)) => self.check_ip(IpAddr::V6(ip))?,
            Some(url::Host::Domain(_)) => {}
            None => return Err(UrlError::Malformed),
        }
        Ok(url)
    }

    /// Resolves `host` and checks every address: one non-public address refuses them all.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, UrlError> {
        let unresolvable = || UrlError::Unresolvable(host.chars().take(255).collect());
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| unresolvable())?
            .collect();
        if addrs.is_empty() {
            return Err(unresolvable());
        }
        for a in &addrs {
            self.check_ip(a.ip())?;
        }
        Ok(addrs)
    }

    /// Checks a URL fully, resolving its host (at endpoint creation).
    pub async fn check_url_resolved(&self, raw: &str) -> Result<Url, UrlError> {
        let url = self.check_url(raw)?;
        if let Some(url::Host::Domain(d)) = url.host() {
            self.resolve(d, url.port_or_known_default().unwrap_or(443))
                .await?;
        }
        Ok(url)
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The resolver reqwest connects through: the addresses it returns are the checked ones.
#[derive(Debug, Clone)]
pub(crate) struct CheckedResolver(pub(crate) Arc<UrlPolicy>);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.0);
        Box::pin(async move {
            let addrs = policy
                .resolve(name.as_str(), 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_refused() {
        let p = UrlPolicy::new(vec![]);
        for url in [
            "http://10.1.2.3/hook",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://127.0.0.1:8080/",
            "http://127.1/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://100.64.0.1/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:127.0.0.1]/",
            "http://[::ffff:0:10.0.0.1]/",
            "http://[::10.0.0.1]/",
            "http://0.0.0.0/",
            "http://224.0.0.1/",
            "http://255.255.255.255/",
            "http://[fe80::1]/",
            "http://[fd00::1]/",
            "http://0x7f000001/",
            "http://2130706433/",
        ] {
            assert!(
                matches!(p.check_url(url), Err(UrlError::NonPublic(_))),
                "{url}: {:?}",
                p.check_url(url)
            );
        }
        for url in [
            "https://93.184.215.14/hook",
            "https://example.com/hook",
            "http://[2606:4700::1]/",
        ] {
            assert!(p.check_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn malformed_urls_are_refused_for_the_right_reason() {
        let p = UrlPolicy::new(vec![]);
        assert_eq!(
            p.check_url("ftp://example.com/").unwrap_err(),
            UrlError::Scheme
        );
        assert_eq!(
            p.check_url("file:///etc/passwd").unwrap_err(),
            UrlError::Scheme
        );
        assert_eq!(
            p.check_url("https://user:pw@example.com/").unwrap_err(),
            UrlError::Credentials
        );
        assert_eq!(p.check_url("not a url").unwrap_err(), UrlError::Malformed);
        assert_eq!(p.check_url("/relative").unwrap_err(), UrlError::Malformed);
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(p.check_url(&long).unwrap_err(), UrlError::TooLong);
    }

    #[test]
    fn internationalised_hosts_are_checked_in_their_ascii_form() {
        // UTS 46 (the `url` crate's IDNA back end): RFC 3492's punycode of "bücher", and a
        // full-width dot that maps to ".". A name that IDNA refuses is malformed.
        let p = UrlPolicy::new(vec![]);
        let url = p.check_url("https://Bücher.example/hook").unwrap();
        assert_eq!(url.host_str(), Some("xn--bcher-kva.example"));
        let url = p.check_url("https://hooks\u{ff0e}example.com/").unwrap();
        assert_eq!(url.host_str(), Some("hooks.example.com"));
        assert_eq!(
            p.check_url("https://xn--a.example/").unwrap_err(),
            UrlError::Malformed
        );
    }

    #[test]
    fn the_allow_list_opens_exactly_what_it_names() {
        let allow = UrlPolicy::parse_allow_list("127.0.0.1, ::1/128").unwrap();
        let p = UrlPolicy::new(allow);
        assert!(p.check_url("http://127.0.0.1:9000/").is_ok());
        assert!(p.check_url("http://[::ffff:127.0.0.1]/").is_ok());
        assert!(p.check_url("http://[::1]/").is_ok());
        assert!(p.check_url("http://127.0.0.2/").is_err());
        assert!(p.check_url("http://10.0.0.1/").is_err());
        assert!(UrlPolicy::parse_allow_list("10.0.0.0/33").is_err());
        assert!(UrlPolicy::parse_allow_list("localhost").is_err());
    }

    #[tokio::test]
    async fn a_hostname_resolving_to_loopback_is_refused_unless_allowed() {
        let p = UrlPolicy::new(vec![]);
        assert!(matches!(
            p.check_url_resolved("http://localhost:9/hook").await,
            Err(UrlError::NonPublic(_))
        ));
        let open = UrlPolicy::new(UrlPolicy::parse_allow_list("127.0.0.0/8,::1").unwrap());
        assert!(
            open.check_url_resolved("http://localhost:9/hook")
                .await
                .is_ok()
        );
        assert!(matches!(
            p.check_url_resolved("http://no-such-host.invalid/").await,
            Err(UrlError::Unresolvable(_))
        ));
    }
}
