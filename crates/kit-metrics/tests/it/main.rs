//! kit-metrics: kit's request metrics through the Prometheus recorder, rendered both ways;
//! the push recorders against the real servers (the npm StatsD daemon, InfluxDB 1.x and
//! Graphite's carbon-cache, each started by the test through kit-testkit). The DogStatsD
//! and InfluxDB StatsD flavours are also checked at the wire, on a UDP socket the test owns.

mod graphite;
mod influx;
mod render;
mod statsd;

use std::time::Duration;

/// A flush interval that never comes during a test: flushes happen when the test asks.
const NEVER: Duration = Duration::from_secs(3600);

/// A flush interval short enough to see several flushes during a test.
const SHORT: Duration = Duration::from_millis(200);
