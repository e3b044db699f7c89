//! StatsD over UDP, in three dialects ([`Flavour`]): plain StatsD (Etsy's daemon), DogStatsD
//! tags, and InfluxDB-style tagged names (Telegraf's StatsD input).
//!
//! Each flush (see [`push`] for the model) sends:
//!
//! * a counter's increase since the last flush as `name:N|c`;
//! * a gauge's value as `name:V|g`. In plain StatsD and Telegraf a value with a sign is a
//!   change, not a value, so a negative gauge goes out as `name:0|g` followed by `name:-V|g`
//!   in the same packet; DogStatsD gauges have no such rule;
//! * each kept histogram value as a timer, `name:V|ms`: the daemon computes percentiles over
//!   all its clients, which it could not do from per-client summaries. Values in seconds (a
//!   histogram described with `Unit::Seconds`, or named `*_seconds`) are sent in
//!   milliseconds; others as they are.
//!
//! A histogram keeps at most [`StatsdBuilder::histogram_cap`] values per interval (see
//! [`push`]). When more were recorded, the kept ones go out with StatsD's sample rate,
//! `name:V|ms|@0.5`, which the daemon (and Telegraf, and the Datadog agent) counts as `1/rate`
//! values: the rates are chosen so that they add up to every value recorded, and the
//! daemon's timer `count` stays exact. The rates are powers of two (`@0.5`, `@0.25`, ...):
//! their decimals are exact and the daemon's `1 / rate` gives back a whole number, where
//! `1/49` would come back as 49.00000000000001. The daemon's other timer statistics (sum,
//! min, max, percentiles) are over the values sent. Dropping the values beyond the cap
//! instead would have left the daemon's counts, and its rates per second, too low.
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

use crate::push::{
    self, Backend, DEFAULT_HISTOGRAM_CAP, DEFAULT_INTERVAL, Failure, MIN_HISTOGRAM_CAP, PushHandle,
    PushRecorder, Snapshot,
};

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
    histogram_cap: usize,
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
            histogram_cap: DEFAULT_HISTOGRAM_CAP,
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

    /// How many values of each histogram to keep between two flushes (at least
    /// [`MIN_HISTOGRAM_CAP`]; default [`DEFAULT_HISTOGRAM_CAP`]). Beyond it, values are
    /// counted but not kept, and the kept ones go out with sample rates that carry the
    /// interval's count to the daemon: see the [module docs](self).
    pub fn histogram_cap(mut self, cap: usize) -> StatsdBuilder {
        self.histogram_cap = cap.max(MIN_HISTOGRAM_CAP);
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
        Ok(push::start(backend, self.interval, self.histogram_cap))
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
        let over = &histogram.over;
        // Nothing kept (a race at a flush can leave that): the smallest value stands for all.
        let values = if histogram.values.is_empty() {
            std::slice::from_ref(&over.min)
        } else {
            &histogram.values
        };
        let total = histogram.values.len() as u64 + over.count;
        let mut values = values.iter();
        for (weight, lines) in weights(values.len() as u64, total) {
            let kind = if weight == 1 {
                String::from("ms")
            } else {
                format!("ms|@{}", 1.0 / weight as f64)
            };
            for value in values.by_ref().take(lines as usize) {
                unit.clear();
                line(&mut unit, &histogram.key, flavour, value * scale, &kind);
                add(&unit, 1);
            }
        }
    }
    if !current.text.is_empty() {
        packets.push(current);
    }
    packets
}

/// How many of `kept` lines carry each weight (`(weight, lines)`, heaviest first) so that
/// the weights add up to `total`, the values recorded: a line of weight `w` goes out with
/// the sample rate `1/w`, and the daemon counts it `w` times. Weights are powers of two, so
/// that `1/w` is exact in decimal and the daemon's `1 / rate` gives `w` back exactly; when
/// `kept` is less than the one bits of `total` (not with the builders' minimum cap, short of
/// a race at a flush), the last line takes the low bits together, whose count the daemon
/// gets within a rounding error.
fn weights(kept: u64, total: u64) -> Vec<(u64, u64)> {
    // lines[k]: lines of weight 2^k. Start from the binary digits of `total`.
    let mut lines: [u64; 64] = std::array::from_fn(|k| total >> k & 1);
    let mut count = u64::from(total.count_ones());
    let mut odd = 0;
    if count > kept {
        // The highest `kept - 1` digits keep a line each; the last line takes the rest.
        let mut digits = 0;
        for k in (0..64).rev() {
            if lines[k] == 0 {
                continue;
            }
            if digits + 1 < kept {
                digits += 1;
            } else {
                lines[k] = 0;
                odd += 1 << k;
            }
        }
        count = kept;
    }
    // Split the heaviest weights in halves until there is one per line.
    while count < kept {
        let Some(k) = (1..64).rev().find(|&k| lines[k] > 0) else {
            break;
        };
        let split = lines[k].min(kept - count);
        lines[k] -= split;
        lines[k - 1] += 2 * split;
        count += split;
    }
    let mut weights: Vec<(u64, u64)> = (0..64)
        .rev()
        .filter(|&k| lines[k] > 0)
        .map(|k| (1 << k, lines[k]))
        .collect();
    if odd > 0 {
        weights.push((odd, 1));
    }
    weights
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
    use crate::push::{HistogramValues, OverCap};

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
                values: vec![0.25],
                over: OverCap::NONE,
                seconds: true,
            }],
            over_cap: 0,
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
            over_cap: 0,
        };
        let packets = encode(&snapshot, Flavour::Plain, 12);
        let texts: Vec<(&str, u64)> = packets.iter().map(|p| (p.text.as_str(), p.lines)).collect();
        // "a:1|c\nb:2|c" is 11 bytes: the gauge pair (12 bytes) does not fit beside it.
        assert_eq!(texts, [("a:1|c\nb:2|c", 2), ("g:0|g\ng:-1|g", 2)]);
    }

    #[test]
    fn weights_are_powers_of_two_adding_up_to_the_count() {
        assert_eq!(weights(3, 3), [(1, 3)]);
        // 10 = 8 + 2, the 8 split until there are four lines.
        assert_eq!(weights(4, 10), [(4, 1), (2, 3)]);
        assert_eq!(weights(64, 100), [(2, 36), (1, 28)]);
        // Fewer lines than one bits: the last line takes the low ones together.
        assert_eq!(weights(2, 7), [(4, 1), (3, 1)]);
        assert_eq!(weights(1, 10), [(10, 1)]);
        for (kept, total) in [
            (64, 1_000_003),
            (64, u64::from(u32::MAX)),
            (4096, 5_000_000),
        ] {
            let weights = weights(kept, total);
            assert_eq!(weights.iter().map(|(_, n)| n).sum::<u64>(), kept);
            assert_eq!(weights.iter().map(|(w, n)| w * n).sum::<u64>(), total);
            assert!(weights.iter().all(|(w, _)| w.is_power_of_two()));
        }
    }

    #[test]
    fn values_over_the_cap_are_carried_by_sample_rates() {
        let snapshot = Snapshot {
            counters: vec![],
            gauges: vec![],
            histograms: vec![HistogramValues {
                key: key("h", &[("m", "a")]),
                values: vec![1.0, 2.0, 3.0, 4.0],
                over: OverCap {
                    count: 6,
                    sum: 40.0,
                    min: 5.0,
                    max: 9.0,
                },
                seconds: false,
            }],
            over_cap: 6,
        };
        let text = |flavour| encode(&snapshot, flavour, DEFAULT_MTU).remove(0).text;
        assert_eq!(
            text(Flavour::Plain),
            "h.m.a:1|ms|@0.25\nh.m.a:2|ms|@0.5\nh.m.a:3|ms|@0.5\nh.m.a:4|ms|@0.5"
        );
        assert_eq!(
            text(Flavour::DogStatsd),
            "h:1|ms|@0.25|#m:a\nh:2|ms|@0.5|#m:a\nh:3|ms|@0.5|#m:a\nh:4|ms|@0.5|#m:a"
        );
    }
}
