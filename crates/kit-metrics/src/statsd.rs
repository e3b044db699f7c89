//! StatsD over UDP, in three dialects ([`Flavour`]): plain StatsD (Etsy's daemon), DogStatsD
//! tags, and InfluxDB-style tagged names (Telegraf's StatsD input).
//!
//! Each flush (see [`push`] for the model) sends:
//!
//! * a counter's increase since the last flush as `name:N|c`;
//! * a gauge's value as `name:V|g`. In plain StatsD and Telegraf a value with a sign is a
//!   change, not a value, so a negative gauge goes out as `name:0|g` followed by `name:-V|g`
//!   in the same packet; DogStatsD gauges have no such rule;
//! * **every** histogram value as a timer, `name:V|ms`: the daemon computes percentiles over
//!   all its clients, which it could not do from per-client summaries. Values in seconds (a
//!   histogram described with `Unit::Seconds`, or named `*_seconds`) are sent in
//!   milliseconds; others as they are.
//!
//! Labels go where the flavour puts them: plain StatsD has none, so they become name
//! segments (`name.key.value`); DogStatsD appends `|#key:value,key2:value2`; the InfluxDB
//! flavour writes `name,key=value,key2=value2:1|c`. Characters that would break a line (the
//! separators of the flavour, whitespace) are replaced by `_`. Non-finite values are not sent.
//!
//! Lines are packed into datagrams of at most [`StatsdBuilder::mtu`] bytes (default
//! [`DEFAULT_MTU`], what fits an Ethernet frame with IP and UDP headers to spare); a line
//! longer than that goes alone. A datagram that the socket refuses (on loopback, an ICMP
//! "port unreachable" from an earlier datagram comes back as a refused send) counts its lines
//! as dropped. UDP cannot tell more: datagrams lost on the way are not counted.
//!
//! Why not `metrics-exporter-dogstatsd`: it speaks DogStatsD to a Datadog agent only;
//! histograms go out as `|h`/`|d` with several values per line, which the StatsD daemon
//! counts as counters or rejects, and it has neither `|ms` timers nor the InfluxDB dialect.
//!
//! Tested against the npm `statsd` daemon 0.9.0 (plain and DogStatsD flavours, read back from
//! its management interface and its flush); the DogStatsD and InfluxDB flavours are also
//! checked at the wire against their documented formats.
//!
//! ```no_run
//! # async fn run() {
//! use kit_metrics::statsd::{Flavour, StatsdBuilder};
//!
//! let (recorder, handle) = StatsdBuilder::new("127.0.0.1:8125".parse().unwrap())
//!     .flavour(Flavour::DogStatsd)
//!     .build()
//!     .await
//!     .expect("a UDP socket");
//! metrics::set_global_recorder(recorder).expect("no recorder yet");
//! // ... serve ...
//! let dropped = handle.flush_and_stop().await;
//! # let _ = dropped;
//! # }
//! ```

use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, SystemTime};

use metrics::Key;
use tokio::net::UdpSocket;

use crate::push::{self, Backend, DEFAULT_INTERVAL, Failure, PushHandle, PushRecorder, Snapshot};

/// Default datagram size limit: 1500 bytes of Ethernet MTU less IP and UDP headers with room
/// for options (the value common StatsD clients use).
pub const DEFAULT_MTU: usize = 1432;

/// The line dialect: where labels go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// Etsy's StatsD: no tags; labels become name segments, `name.key.value:1|c`.
    #[default]
    Plain,
    /// DogStatsD tags: `name:1|c|#key:value,key2:value2`.
    DogStatsd,
    /// InfluxDB-style tagged names (Telegraf's StatsD input): `name,key=value:1|c`.
    Influx,
}

/// Builds a StatsD [`PushRecorder`] and its [`PushHandle`].
#[derive(Debug, Clone)]
pub struct StatsdBuilder {
    addr: SocketAddr,
    flavour: Flavour,
    mtu: usize,
    interval: Duration,
}

impl StatsdBuilder {
    /// Sends to the StatsD daemon at `addr`, with the defaults: [`Flavour::Plain`],
    /// [`DEFAULT_MTU`], a flush every [`DEFAULT_INTERVAL`].
    pub fn new(addr: SocketAddr) -> StatsdBuilder {
        StatsdBuilder {
            addr,
            flavour: Flavour::Plain,
            mtu: DEFAULT_MTU,
            interval: DEFAULT_INTERVAL,
        }
    }

    /// The line dialect.
    pub fn flavour(mut self, flavour: Flavour) -> StatsdBuilder {
        self.flavour = flavour;
        self
    }

    /// The largest datagram to send, in bytes (at least 1).
    pub fn mtu(mut self, mtu: usize) -> StatsdBuilder {
        self.mtu = mtu.max(1);
        self
    }

    /// How often to flush.
    pub fn interval(mut self, interval: Duration) -> StatsdBuilder {
        self.interval = interval;
        self
    }

    /// Opens the UDP socket and spawns the flush task on the current tokio runtime. The
    /// daemon need not be up: what is flushed while it is down is dropped and counted.
    ///
    /// # Errors
    ///
    /// When no UDP socket can be bound or connected to the address.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn build(self) -> io::Result<(PushRecorder, PushHandle)> {
        let local: SocketAddr = if self.addr.is_ipv4() {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(local).await?;
        // Connected, so that the kernel reports a refused port on a later send.
        socket.connect(self.addr).await?;
        let backend = Statsd {
            socket,
            flavour: self.flavour,
            mtu: self.mtu,
        };
        Ok(push::start(backend, self.interval))
    }
}

struct Statsd {
    socket: UdpSocket,
    flavour: Flavour,
    mtu: usize,
}

impl Backend for Statsd {
    const NAME: &'static str = "statsd";

    async fn send(&mut self, snapshot: Snapshot, _now: SystemTime) -> Result<(), Failure> {
        let packets = encode(&snapshot, self.flavour, self.mtu);
        let mut failure: Option<Failure> = None;
        for packet in &packets {
            if let Err(err) = self.socket.send(packet.text.as_bytes()).await {
                let failure = failure.get_or_insert(Failure {
                    lost: 0,
                    error: String::new(),
                });
                failure.lost += packet.lines;
                failure.error = format!("send to {:?}: {err}", self.socket.peer_addr().ok());
            }
        }
        failure.map_or(Ok(()), Err)
    }
}

/// One datagram's payload and how many metric lines it holds.
#[derive(Debug)]
struct Packet {
    text: String,
    lines: u64,
}

/// The snapshot as datagrams of at most `mtu` bytes (a longer line goes alone).
fn encode(snapshot: &Snapshot, flavour: Flavour, mtu: usize) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut current = Packet {
        text: String::new(),
        lines: 0,
    };
    let mut unit = String::new();
    let mut add = |unit: &str, lines: u64| {
        let needed = unit.len() + usize::from(!current.text.is_empty());
        if !current.text.is_empty() && current.text.len() + needed > mtu {
            packets.push(std::mem::replace(
                &mut current,
                Packet {
                    text: String::new(),
                    lines: 0,
                },
            ));
        }
        if !current.text.is_empty() {
            current.text.push('\n');
        }
        current.text.push_str(unit);
        current.lines += lines;
    };
    for (key, delta) in &snapshot.counters {
        unit.clear();
        line(&mut unit, key, flavour, *delta, "c");
        add(&unit, 1);
    }
    for (key, value) in &snapshot.gauges {
        if !value.is_finite() {
            continue;
        }
        unit.clear();
        // A signed value is a change in plain StatsD and Telegraf: set 0 first, in the same
        // datagram so that the two stay in order.
        if *value < 0.0 && flavour != Flavour::DogStatsd {
            line(&mut unit, key, flavour, 0, "g");
            unit.push('\n');
            line(&mut unit, key, flavour, value, "g");
            add(&unit, 2);
        } else {
            line(&mut unit, key, flavour, value, "g");
            add(&unit, 1);
        }
    }
    for histogram in &snapshot.histograms {
        let scale = if histogram.seconds { 1000.0 } else { 1.0 };
        for value in histogram.values.iter().filter(|v| v.is_finite()) {
            unit.clear();
            line(&mut unit, &histogram.key, flavour, value * scale, "ms");
            add(&unit, 1);
        }
    }
    if !current.text.is_empty() {
        packets.push(current);
    }
    packets
}

/// Writes one line, `name:value|kind` with the labels where `flavour` puts them.
fn line(out: &mut String, key: &Key, flavour: Flavour, value: impl std::fmt::Display, kind: &str) {
    // Characters that end or split a name or a tag in every flavour.
    let plain = |c: char| !matches!(c, ':' | '|' | '@' | '#' | ',' | '=') && !c.is_whitespace();
    push::push_sanitised(out, key.name(), plain);
    match flavour {
        Flavour::Plain => {
            for (name, label) in push::labels(key) {
                out.push('.');
                push::push_sanitised(out, name, |c| c != '.' && plain(c));
                out.push('.');
                push::push_sanitised(out, label, |c| c != '.' && plain(c));
            }
        }
        Flavour::Influx => {
            for (name, label) in push::labels(key) {
                out.push(',');
                push::push_sanitised(out, name, plain);
                out.push('=');
                push::push_sanitised(out, label, plain);
            }
        }
        Flavour::DogStatsd => {}
    }
    let _ = write!(out, ":{value}|{kind}");
    if flavour == Flavour::DogStatsd {
        for (i, (name, label)) in push::labels(key).enumerate() {
            out.push_str(if i == 0 { "|#" } else { "," });
            push::push_sanitised(out, name, plain);
            out.push(':');
            // A tag value may hold `:` (DogStatsD splits at the first one).
            push::push_sanitised(out, label, |c| c == ':' || plain(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::push::HistogramValues;

    fn key(name: &'static str, labels: &[(&'static str, &'static str)]) -> Key {
        let labels: Vec<metrics::Label> = labels
            .iter()
            .map(|(k, v)| metrics::Label::new(*k, *v))
            .collect();
        Key::from_parts(name, labels)
    }

    #[test]
    fn flavours_put_labels_where_their_formats_say() {
        let snapshot = Snapshot {
            counters: vec![(key("req", &[("method", "sum"), ("ok", "true")]), 3)],
            gauges: vec![(key("temp", &[]), -2.5)],
            histograms: vec![HistogramValues {
                key: key("lat_seconds", &[("m", "a b")]),
                values: vec![0.25, f64::NAN],
                seconds: true,
            }],
        };
        let text = |flavour| {
            encode(&snapshot, flavour, DEFAULT_MTU)
                .into_iter()
                .map(|p| p.text)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            text(Flavour::Plain),
            ["req.method.sum.ok.true:3|c\ntemp:0|g\ntemp:-2.5|g\nlat_seconds.m.a_b:250|ms"]
        );
        assert_eq!(
            text(Flavour::DogStatsd),
            ["req:3|c|#method:sum,ok:true\ntemp:-2.5|g\nlat_seconds:250|ms|#m:a_b"]
        );
        assert_eq!(
            text(Flavour::Influx),
            ["req,method=sum,ok=true:3|c\ntemp:0|g\ntemp:-2.5|g\nlat_seconds,m=a_b:250|ms"]
        );
    }

    #[test]
    fn packets_stay_under_the_mtu_and_keep_a_gauge_pair_together() {
        let snapshot = Snapshot {
            counters: vec![(key("a", &[]), 1), (key("b", &[]), 2)],
            gauges: vec![(key("g", &[]), -1.0)],
            histograms: vec![],
        };
        let packets = encode(&snapshot, Flavour::Plain, 12);
        let texts: Vec<(&str, u64)> = packets.iter().map(|p| (p.text.as_str(), p.lines)).collect();
        // "a:1|c\nb:2|c" is 11 bytes: the gauge pair (12 bytes) does not fit beside it.
        assert_eq!(texts, [("a:1|c\nb:2|c", 2), ("g:0|g\ng:-1|g", 2)]);
    }
}
