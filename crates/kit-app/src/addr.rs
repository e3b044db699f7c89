//! Where a listener binds: Go's address forms, or `off`.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::str::FromStr;

/// Where a listener binds, as a flag gives it: an address, or `off` for no listener.
///
/// Parsed from `host:port` with a numeric host, `[v6]:port`, `localhost:port`, Go's
/// `:port` (all interfaces) or `off`; port `0` picks a free port (the [`App`](crate::App)
/// logs the bound address). A listener flag of a service is a field of this type:
///
/// ```
/// use clap::Parser;
/// use kit_app::ListenAddr;
///
/// #[derive(Parser)]
/// struct Args {
///     /// HTTP/JSON listener.
///     #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
///     http_addr: ListenAddr,
/// }
///
/// let args = Args::parse_from(["svc", "--http-addr", ":0"]);
/// assert_eq!(args.http_addr, ListenAddr::On("0.0.0.0:0".parse().unwrap()));
/// let args = Args::parse_from(["svc"]);
/// assert_eq!(args.http_addr.to_string(), "127.0.0.1:8081");
/// assert_eq!("off".parse(), Ok(ListenAddr::Off));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenAddr {
    /// Bind here (port 0 picks a free port).
    On(SocketAddr),
    /// No listener.
    Off,
}

impl FromStr for ListenAddr {
    type Err = String;

    /// `host:port` with a numeric host, `[v6]:port`, Go's `:port` (all interfaces),
    /// `localhost:port`, or `off`.
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(ListenAddr::Off);
        }
        let bad = |why: &str| {
            format!("invalid listen address {s:?}: {why} (want HOST:PORT, :PORT or off)")
        };
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip = match host {
            "" => Ipv4Addr::UNSPECIFIED.into(),
            "localhost" => Ipv4Addr::LOCALHOST.into(),
            _ => host
                .parse()
                .map_err(|_| bad("the host must be an IP address or localhost"))?,
        };
        Ok(ListenAddr::On(SocketAddr::new(ip, port)))
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListenAddr::On(addr) => addr.fmt(f),
            ListenAddr::Off => f.write_str("off"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses() {
        let on = |s: &str| s.parse::<ListenAddr>().unwrap().to_string();
        assert_eq!(on("127.0.0.1:8081"), "127.0.0.1:8081");
        assert_eq!(on(":8081"), "0.0.0.0:8081");
        assert_eq!(on("localhost:0"), "127.0.0.1:0");
        assert_eq!(on("[::1]:9"), "[::1]:9");
        assert_eq!(on("off"), "off");
    }

    #[test]
    fn bad_listen_addresses_say_why() {
        for (addr, why) in [
            (
                "example.com:80",
                "the host must be an IP address or localhost",
            ),
            ("8081", "no port"),
            ("127.0.0.1:99999", "bad port"),
            ("127.0.0.1:", "bad port"),
            ("", "no port"),
        ] {
            assert_eq!(
                addr.parse::<ListenAddr>().unwrap_err(),
                format!("invalid listen address {addr:?}: {why} (want HOST:PORT, :PORT or off)")
            );
        }
    }
}
