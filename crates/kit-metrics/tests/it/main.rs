//! kit's request metrics through the Prometheus recorder, rendered both ways.

mod render;
