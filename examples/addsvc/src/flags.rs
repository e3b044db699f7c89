//! Command-line conventions shared by addsvc and addcli: Go-style flags, listener
//! addresses, durations.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

/// Rewrites Go-style single-dash long flags (`-http-addr`, `-http-addr=:8081`) as
/// double-dash ones, so scripts written for Go kit's binaries keep working with a
/// conventional parser. Single-letter flags (`-h`), negative numbers (`-5`) and everything
/// after `--` are left alone.
pub fn go_style_args(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut rest = false;
    for arg in args {
        let rewritten = match arg.to_str() {
            Some("--") => {
                rest = true;
                None
            }
            Some(s) if !rest && is_go_long_flag(s) => Some(OsString::from(format!("-{s}"))),
            _ => None,
        };
        out.push(rewritten.unwrap_or(arg));
    }
    out
}

fn is_go_long_flag(arg: &str) -> bool {
    let Some(name) = arg.strip_prefix('-') else {
        return false;
    };
    let name = name.split('=').next().unwrap_or_default();
    name.len() > 1
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Where a listener binds: an address, or `off`.
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
            "" => std::net::Ipv4Addr::UNSPECIFIED.into(),
            "localhost" => std::net::Ipv4Addr::LOCALHOST.into(),
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

/// Parses a duration in Go's style: a number and a unit, `ms`, `s`, `m` or `h` (`10s`,
/// `1.5s`, `250ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {s:?} (want e.g. 10s, 250ms, 1m)");
    let split = s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?;
    let (number, unit) = s.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        go_style_args(args.iter().map(OsString::from))
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn go_flags_become_long_flags() {
        assert_eq!(
            rewrite(&[
                "addcli",
                "-http-addr",
                ":8081",
                "-method=concat",
                "--grpc-addr",
                "x",
                "-h",
                "-5",
                "7"
            ]),
            [
                "addcli",
                "--http-addr",
                ":8081",
                "--method=concat",
                "--grpc-addr",
                "x",
                "-h",
                "-5",
                "7"
            ]
        );
        assert_eq!(
            rewrite(&["addcli", "--", "-abc", "-x"]),
            ["addcli", "--", "-abc", "-x"]
        );
    }

    #[test]
    fn listen_addresses() {
        let on = |s: &str| match s.parse::<ListenAddr>().unwrap() {
            ListenAddr::On(a) => a.to_string(),
            ListenAddr::Off => "off".into(),
        };
        assert_eq!(on("127.0.0.1:8081"), "127.0.0.1:8081");
        assert_eq!(on(":8081"), "0.0.0.0:8081");
        assert_eq!(on("localhost:0"), "127.0.0.1:0");
        assert_eq!(on("[::1]:9"), "[::1]:9");
        assert_eq!(on("off"), "off");
        assert_eq!(
            "example.com:80".parse::<ListenAddr>().unwrap_err(),
            "invalid listen address \"example.com:80\": the host must be an IP address or localhost (want HOST:PORT, :PORT or off)"
        );
        assert!("8081".parse::<ListenAddr>().is_err());
        assert!("127.0.0.1:99999".parse::<ListenAddr>().is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("5x").is_err());
    }
}
