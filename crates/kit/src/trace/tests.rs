use super::*;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SPAN: &str = "00f067aa0ba902b7";

fn hex_trace(s: &str) -> TraceId {
    TraceId(w3c::parse_hex(s.as_bytes()).unwrap())
}

fn hex_span(s: &str) -> SpanId {
    SpanId(w3c::parse_hex(s.as_bytes()).unwrap())
}

/// The trace `headers` carry in `formats`.
fn extract(formats: Propagation, headers: &[(&str, &str)]) -> Option<TraceContext> {
    let mut incoming = Incoming::default();
    for (name, value) in headers {
        incoming.offer(name, value.as_bytes());
    }
    incoming.extract(formats)
}

fn w3c(headers: &[(&str, &str)]) -> Option<TraceContext> {
    extract(Propagation::W3C, headers)
}

fn injected(trace: &TraceContext, formats: Propagation) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    trace.inject(formats, |name, value| out.push((name, value.to_owned())));
    out
}

#[test]
fn traceparent_examples_of_the_spec() {
    let sampled = w3c(&[("traceparent", &format!("00-{TRACE}-{SPAN}-01"))]).unwrap();
    assert_eq!(sampled.trace_id(), hex_trace(TRACE));
    assert_eq!(sampled.span_id(), hex_span(SPAN));
    assert_eq!(sampled.parent_span_id(), None);
    assert_eq!(sampled.sampled(), Some(true));
    assert!(!sampled.debug());
    assert_eq!(sampled.trace_state(), "");
    let unsampled = w3c(&[("traceparent", &format!("00-{TRACE}-{SPAN}-00"))]).unwrap();
    assert_eq!(unsampled.sampled(), Some(false));
    // Flags other than bit 0 are not ours to read.
    let other_flags = w3c(&[("traceparent", &format!("00-{TRACE}-{SPAN}-09"))]).unwrap();
    assert_eq!(other_flags.sampled(), Some(true));
    // Surrounding whitespace is not part of an HTTP field value.
    let padded = w3c(&[("traceparent", &format!("  00-{TRACE}-{SPAN}-01\t"))]).unwrap();
    assert_eq!(padded, sampled);
}

#[test]
fn later_versions_are_read_by_their_first_four_fields() {
    for value in [
        format!("01-{TRACE}-{SPAN}-01"),
        format!("cc-{TRACE}-{SPAN}-01-what-the-future-will-be-like"),
        format!("fe-{TRACE}-{SPAN}-01-"),
    ] {
        let trace = w3c(&[("traceparent", &value)]).unwrap_or_else(|| panic!("{value}"));
        assert_eq!(
            (trace.trace_id(), trace.span_id()),
            (hex_trace(TRACE), hex_span(SPAN))
        );
        assert_eq!(trace.sampled(), Some(true));
    }
}

#[test]
fn invalid_traceparents_are_ignored() {
    let zeros32 = "0".repeat(32);
    for value in [
        format!("ff-{TRACE}-{SPAN}-01"),
        format!("00-{}-{SPAN}-01", TRACE.to_uppercase()),
        format!("00-{TRACE}-{}-01", SPAN.to_uppercase()),
        format!("00-{TRACE}-{SPAN}-0A"),
        format!("0A-{TRACE}-{SPAN}-01"),
        format!("00-{zeros32}-{SPAN}-01"),
        format!("00-{TRACE}-0000000000000000-01"),
        format!("00-{TRACE}-{SPAN}-01-extra"),
        format!("00-{TRACE}-{SPAN}-010"),
        format!("cc-{TRACE}-{SPAN}-01.what"),
        format!("00-{TRACE}-{SPAN}-1"),
        format!("00-{}-{SPAN}-01", &TRACE[1..]),
        format!("00_{TRACE}_{SPAN}_01"),
        format!("00-{TRACE}-{SPAN}-0g"),
        format!("00-{}x-{SPAN}-01", &TRACE[1..]),
        String::new(),
    ] {
        assert_eq!(w3c(&[("traceparent", &value)]), None, "{value:?}");
    }
    // Two traceparent fields: which one is meant is unknown.
    let one = format!("00-{TRACE}-{SPAN}-01");
    assert_eq!(w3c(&[("traceparent", &one), ("traceparent", &one)]), None);
}

fn state_of(tracestate: &[&str]) -> Option<String> {
    let parent = format!("00-{TRACE}-{SPAN}-01");
    let mut headers = vec![("traceparent", parent.as_str())];
    headers.extend(tracestate.iter().map(|v| ("tracestate", *v)));
    let trace = w3c(&headers).expect("the traceparent is kept whatever the tracestate");
    Some(trace.trace_state().to_owned()).filter(|s| !s.is_empty())
}

#[test]
fn tracestate_examples_of_the_spec() {
    assert_eq!(
        state_of(&["rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"]).as_deref(),
        Some("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
    );
    // Several fields are one list, in order; whitespace and empty members go.
    assert_eq!(
        state_of(&["congo=ucfJifl5GOE ", " , rojo=00f067aa0ba902b7\t,"]).as_deref(),
        Some("congo=ucfJifl5GOE,rojo=00f067aa0ba902b7")
    );
    // Multi-tenant keys, and values with spaces and punctuation inside.
    assert_eq!(
        state_of(&["fw529a3039@dt=d8c8b6f6,0abc@x-y*z/1=a b!~"]).as_deref(),
        Some("fw529a3039@dt=d8c8b6f6,0abc@x-y*z/1=a b!~")
    );
    assert_eq!(state_of(&[]), None);
    assert_eq!(state_of(&[""]), None);
    let members: Vec<String> = (0..32).map(|i| format!("k{i}=v")).collect();
    assert_eq!(state_of(&[&members.join(",")]), Some(members.join(",")));
}

#[test]
fn invalid_tracestates_are_dropped_and_the_traceparent_kept() {
    let thirty_three: Vec<String> = (0..33).map(|i| format!("k{i}=v")).collect();
    let long_key = format!("a{}=v", "b".repeat(256));
    let long_value = format!("a={}", "v".repeat(257));
    let long_system = format!("t@a{}=v", "b".repeat(14));
    let long_tenant = format!("t{}@s=v", "b".repeat(241));
    // Members of 256 and 255 characters and the comma: 512, kept; one more, dropped.
    let at_bound = format!("a={},b={}", "v".repeat(254), "v".repeat(253));
    assert_eq!(state_of(&[&at_bound]).map(|s| s.len()), Some(512));
    let just_over = format!("a={},b={}", "v".repeat(254), "v".repeat(254));
    assert_eq!(just_over.len(), 513);
    for value in [
        "Rojo=1",
        "rojo=1,rojo=2",
        "=1",
        "rojo",
        "rojo=",
        "rojo=a=b",
        "1rojo=1",
        "rojo@=1",
        "@dt=1",
        "t@1dt=1",
        "a@b@c=1",
        "rojo=caf\u{e9}",
        "rojo=a\u{7f}",
        thirty_three.join(",").as_str(),
        long_key.as_str(),
        long_value.as_str(),
        long_system.as_str(),
        long_tenant.as_str(),
        just_over.as_str(),
    ] {
        assert_eq!(state_of(&[value]), None, "{value:?}");
    }
    // The longest key and value parts are accepted.
    let longest = format!("a{}=v", "b".repeat(255));
    assert_eq!(state_of(&[&longest]), Some(longest.clone()));
    let tenant = format!("t{}@s{}=v", "b".repeat(240), "y".repeat(13));
    assert_eq!(state_of(&[&tenant]), Some(tenant.clone()));
}

#[test]
fn tracestate_without_traceparent_is_nothing() {
    assert_eq!(w3c(&[("tracestate", "rojo=1")]), None);
}

fn b3(value: &str) -> Option<TraceContext> {
    extract(Propagation::B3_SINGLE, &[("b3", value)])
}

#[test]
fn b3_single_examples_of_the_spec() {
    let full = b3("80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90").unwrap();
    assert_eq!(
        full.trace_id(),
        hex_trace("80f198ee56343ba864fe8b2a57d3eff7")
    );
    assert_eq!(full.span_id(), hex_span("e457b5a2e4d86bd1"));
    assert_eq!(full.parent_span_id(), Some(hex_span("05e3ac9a4f6e3b90")));
    assert_eq!((full.sampled(), full.debug()), (Some(true), false));

    let deferred = b3(&format!("{TRACE}-{SPAN}")).unwrap();
    assert_eq!(
        (deferred.sampled(), deferred.parent_span_id()),
        (None, None)
    );

    let debug = b3(&format!("{TRACE}-{SPAN}-d-5b4185666d50f68b")).unwrap();
    assert_eq!((debug.sampled(), debug.debug()), (Some(true), true));
    assert_eq!(debug.parent_span_id(), Some(hex_span("5b4185666d50f68b")));

    let denied = b3(&format!("{TRACE}-{SPAN}-0")).unwrap();
    assert_eq!(denied.sampled(), Some(false));

    // A 64-bit trace id is left-padded with zeros.
    let short = b3("a3ce929d0e0e4736-00f067aa0ba902b7-1").unwrap();
    assert_eq!(
        short.trace_id(),
        hex_trace("0000000000000000a3ce929d0e0e4736")
    );
    assert_eq!(
        short.trace_id().to_string(),
        "0000000000000000a3ce929d0e0e4736"
    );
}

#[test]
fn b3_sampling_state_alone_starts_a_trace_with_the_callers_decision() {
    for (value, sampled, debug) in [("0", false, false), ("1", true, false), ("d", true, true)] {
        let trace = b3(value).unwrap();
        assert_eq!(
            (trace.sampled(), trace.debug()),
            (Some(sampled), debug),
            "{value}"
        );
        assert!(trace.trace_id().is_valid() && trace.span_id().is_valid());
        assert_eq!(trace.parent_span_id(), None);
    }
}

#[test]
fn invalid_b3_single_headers_are_ignored() {
    for value in [
        String::new(),
        "2".to_owned(),
        "true".to_owned(),
        TRACE.to_owned(),
        format!("{TRACE}-"),
        format!("{}-{SPAN}", TRACE.to_uppercase()),
        format!("{}-{SPAN}", &TRACE[..20]),
        format!("0000000000000000-{SPAN}"),
        format!("{TRACE}-0000000000000000"),
        format!("{TRACE}-{SPAN}-2"),
        format!("{TRACE}-{SPAN}-true"),
        format!("{TRACE}-{SPAN}-1-"),
        format!("{TRACE}-{SPAN}-1-0000000000000000"),
        format!("{TRACE}-{SPAN}-1-{SPAN}-1"),
        format!("{TRACE}-{SPAN}-{SPAN}"),
    ] {
        assert_eq!(b3(&value), None, "{value:?}");
    }
}

fn multi(headers: &[(&str, &str)]) -> Option<TraceContext> {
    extract(Propagation::B3_MULTI, headers)
}

#[test]
fn b3_multi_headers() {
    let trace = multi(&[
        ("x-b3-traceid", "80f198ee56343ba864fe8b2a57d3eff7"),
        ("x-b3-spanid", "e457b5a2e4d86bd1"),
        ("x-b3-parentspanid", "05e3ac9a4f6e3b90"),
        ("x-b3-sampled", "1"),
    ])
    .unwrap();
    assert_eq!(
        trace.trace_id(),
        hex_trace("80f198ee56343ba864fe8b2a57d3eff7")
    );
    assert_eq!(trace.span_id(), hex_span("e457b5a2e4d86bd1"));
    assert_eq!(trace.parent_span_id(), Some(hex_span("05e3ac9a4f6e3b90")));
    assert_eq!((trace.sampled(), trace.debug()), (Some(true), false));

    for (sampled, expected) in [
        ("true", Some(true)),
        ("false", Some(false)),
        ("0", Some(false)),
    ] {
        let trace = multi(&[
            ("x-b3-traceid", "a3ce929d0e0e4736"),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", sampled),
        ])
        .unwrap();
        assert_eq!(trace.sampled(), expected, "{sampled}");
        assert_eq!(
            trace.trace_id(),
            hex_trace("0000000000000000a3ce929d0e0e4736")
        );
    }
    let debug = multi(&[
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", SPAN),
        ("x-b3-flags", "1"),
    ]);
    assert_eq!(
        debug.map(|t| (t.sampled(), t.debug())),
        Some((Some(true), true))
    );
    // Other flags are ignored.
    let flags = multi(&[
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", SPAN),
        ("x-b3-flags", "2"),
    ]);
    assert_eq!(flags.map(|t| (t.sampled(), t.debug())), Some((None, false)));
    // A decision alone.
    let denied = multi(&[("x-b3-sampled", "0")]).unwrap();
    assert_eq!((denied.sampled(), denied.debug()), (Some(false), false));
    let debug_alone = multi(&[("x-b3-flags", "1")]).unwrap();
    assert_eq!(
        (debug_alone.sampled(), debug_alone.debug()),
        (Some(true), true)
    );
    assert_eq!(multi(&[("x-b3-flags", "0")]), None);

    for bad in [
        vec![("x-b3-traceid", TRACE)],
        vec![("x-b3-spanid", SPAN)],
        vec![
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-sampled", "yes"),
        ],
        vec![("x-b3-traceid", TRACE), ("x-b3-spanid", "00f067aa0ba902")],
        vec![
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-parentspanid", "0"),
        ],
        vec![
            ("x-b3-traceid", TRACE),
            ("x-b3-spanid", SPAN),
            ("x-b3-spanid", SPAN),
        ],
    ] {
        assert_eq!(multi(&bad), None, "{bad:?}");
    }
}

#[test]
fn precedence_is_w3c_then_b3_then_the_multi_headers_skipping_malformed_ones() {
    let w3c_value = format!("00-{TRACE}-{SPAN}-01");
    let single = "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-0";
    let multi_headers = [
        ("x-b3-traceid", "11111111111111111111111111111111"),
        ("x-b3-spanid", "2222222222222222"),
    ];
    let all = |traceparent: &str, b3: &str| {
        let mut headers = vec![("traceparent", traceparent), ("b3", b3)];
        headers.extend(multi_headers);
        extract(Propagation::ALL, &headers).map(|t| t.trace_id().to_string())
    };
    assert_eq!(all(&w3c_value, single).as_deref(), Some(TRACE));
    assert_eq!(
        all("00-bad", single).as_deref(),
        Some("80f198ee56343ba864fe8b2a57d3eff7")
    );
    assert_eq!(
        all("00-bad", "bad").as_deref(),
        Some("11111111111111111111111111111111")
    );
    // Formats not selected are not read.
    let mut headers = vec![("traceparent", w3c_value.as_str()), ("b3", single)];
    headers.extend(multi_headers);
    let only_multi = extract(Propagation::B3_MULTI, &headers).unwrap();
    assert_eq!(
        only_multi.trace_id().to_string(),
        "11111111111111111111111111111111"
    );
    let only_single = extract(Propagation::B3_SINGLE | Propagation::B3_MULTI, &headers).unwrap();
    assert_eq!(
        only_single.trace_id().to_string(),
        "80f198ee56343ba864fe8b2a57d3eff7"
    );
    assert_eq!(extract(Propagation::NONE, &headers), None);
    // Unrelated headers are no trace.
    assert_eq!(extract(Propagation::ALL, &[("x-request-id", "1")]), None);
}

fn example() -> TraceContext {
    TraceContext::new(hex_trace(TRACE), hex_span(SPAN))
        .unwrap()
        .with_parent_span_id(Some(hex_span("05e3ac9a4f6e3b90")))
        .with_sampled(Some(true))
        .with_trace_state("rojo=00f067aa0ba902b7 , congo=t61rcWkgMzE")
}

#[test]
fn injection_writes_each_format() {
    assert_eq!(
        injected(&example(), Propagation::ALL),
        [
            ("traceparent", format!("00-{TRACE}-{SPAN}-01")),
            (
                "tracestate",
                "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE".to_owned()
            ),
            ("b3", format!("{TRACE}-{SPAN}-1-05e3ac9a4f6e3b90")),
            ("x-b3-traceid", TRACE.to_owned()),
            ("x-b3-spanid", SPAN.to_owned()),
            ("x-b3-parentspanid", "05e3ac9a4f6e3b90".to_owned()),
            ("x-b3-sampled", "1".to_owned()),
        ]
    );
    let plain = TraceContext::new(hex_trace(TRACE), hex_span(SPAN)).unwrap();
    assert_eq!(
        injected(&plain, Propagation::ALL),
        [
            ("traceparent", format!("00-{TRACE}-{SPAN}-00")),
            ("b3", format!("{TRACE}-{SPAN}")),
            ("x-b3-traceid", TRACE.to_owned()),
            ("x-b3-spanid", SPAN.to_owned()),
        ]
    );
    let debug = plain.clone().with_debug(true);
    assert_eq!(
        injected(&debug, Propagation::B3_SINGLE | Propagation::B3_MULTI),
        [
            ("b3", format!("{TRACE}-{SPAN}-d")),
            ("x-b3-traceid", TRACE.to_owned()),
            ("x-b3-spanid", SPAN.to_owned()),
            ("x-b3-flags", "1".to_owned()),
        ]
    );
    let denied = plain.with_sampled(Some(false));
    assert_eq!(
        injected(&denied, Propagation::W3C | Propagation::B3_MULTI),
        [
            ("traceparent", format!("00-{TRACE}-{SPAN}-00")),
            ("x-b3-traceid", TRACE.to_owned()),
            ("x-b3-spanid", SPAN.to_owned()),
            ("x-b3-sampled", "0".to_owned()),
        ]
    );
    assert_eq!(injected(&example(), Propagation::NONE), []);
}

#[test]
fn every_format_round_trips() {
    let trace = example();
    for format in [
        Propagation::W3C,
        Propagation::B3_SINGLE,
        Propagation::B3_MULTI,
    ] {
        let headers = injected(&trace, format);
        let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let back = extract(format, &pairs).unwrap();
        assert_eq!(back.trace_id(), trace.trace_id(), "{format:?}");
        assert_eq!(back.span_id(), trace.span_id(), "{format:?}");
        assert_eq!(back.sampled(), trace.sampled(), "{format:?}");
        let (parent, state) = if format == Propagation::W3C {
            (None, trace.trace_state())
        } else {
            (trace.parent_span_id(), "")
        };
        assert_eq!(back.parent_span_id(), parent, "{format:?}");
        assert_eq!(back.trace_state(), state, "{format:?}");
    }
}

#[test]
fn a_child_is_the_same_trace_with_a_new_span_under_its_parent() {
    let parent = example().with_debug(true);
    let child = parent.child();
    assert_eq!(child.trace_id(), parent.trace_id());
    assert_ne!(child.span_id(), parent.span_id());
    assert!(child.span_id().is_valid());
    assert_eq!(child.parent_span_id(), Some(parent.span_id()));
    assert_eq!((child.sampled(), child.debug()), (Some(true), true));
    assert_eq!(child.trace_state(), parent.trace_state());

    let ctx = Context::background();
    assert_eq!(ctx.trace(), None);
    let root = child_of(&ctx);
    assert_eq!((root.parent_span_id(), root.sampled()), (None, None));
    assert_ne!(child_of(&ctx).trace_id(), root.trace_id());
    let ctx = ctx.with_trace(parent.clone());
    assert_eq!(ctx.trace(), Some(&parent));
    let outgoing = child_of(&ctx);
    assert_eq!(outgoing.trace_id(), parent.trace_id());
    assert_eq!(outgoing.parent_span_id(), Some(parent.span_id()));
    // Derived contexts keep it.
    assert_eq!(
        ctx.without_cancel().with_metadata("a", "b").trace(),
        Some(&parent)
    );
}

#[test]
fn ids_and_their_hex() {
    let id = TraceId::from_bytes([0xab; 16]);
    assert_eq!(id.to_hex().as_str(), "ab".repeat(16));
    assert_eq!(format!("{id}"), "ab".repeat(16));
    assert_eq!(
        format!("{:?}", SpanId::from_bytes([1, 2, 3, 4, 5, 6, 7, 0xff])),
        "01020304050607ff"
    );
    assert_eq!(TraceId::from_hex(&"ab".repeat(16)), Some(id));
    assert_eq!(
        TraceId::from_hex("a3ce929d0e0e4736").map(TraceId::to_bytes),
        Some([
            0, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36
        ])
    );
    assert_eq!(
        SpanId::from_hex("01020304050607ff"),
        Some(SpanId::from_bytes([1, 2, 3, 4, 5, 6, 7, 0xff]))
    );
    for bad in ["", "0000000000000000", "01020304050607FF", "0102030405060"] {
        assert_eq!(SpanId::from_hex(bad), None, "{bad:?}");
        assert_eq!(TraceId::from_hex(bad), None, "{bad:?}");
    }
    assert!(!TraceId::from_bytes([0; 16]).is_valid());
    assert_eq!(
        TraceContext::new(TraceId::from_bytes([0; 16]), SpanId::random()),
        None
    );
    assert_eq!(
        TraceContext::new(TraceId::random(), SpanId::from_bytes([0; 8])),
        None
    );
    let ids: std::collections::HashSet<SpanId> = (0..1000).map(|_| SpanId::random()).collect();
    assert_eq!(ids.len(), 1000);
    assert_eq!(
        format!("{:?}", Propagation::DEFAULT_INJECT),
        "{W3C, B3_MULTI}"
    );
    assert!(Propagation::DEFAULT_EXTRACT.contains(Propagation::B3_SINGLE));
    assert!(Propagation::NONE.is_empty());
}
