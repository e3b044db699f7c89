//! Request tracing across processes: addcli → addsvc over each transport, and a two-hop
//! chain, exported to kit-testkit's OTLP and Zipkin receivers (no collector can be installed
//! here; the receivers implement the receiving side of both protocols).

use std::time::Duration;

use kit_testkit::Signal;
use kit_testkit::otlp::OtlpReceiver;
use kit_testkit::trace::{AttrValue, Span, SpanKind, Status, tree};
use kit_testkit::zipkin::ZipkinReceiver;

use crate::support::{Addsvc, Run, addcli, start_with_async};

/// How long exported spans may take to arrive.
const ARRIVE: Duration = Duration::from_secs(20);

/// Runs addcli on a blocking thread, so that the receivers on this runtime keep answering.
async fn addcli_async(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        addcli(&args)
    })
    .await
    .unwrap()
}

/// Stops addsvc as an operator would (SIGTERM) and waits for it to exit, flushing its spans.
async fn stop(mut svc: Addsvc) -> String {
    svc.process.signal(Signal::Term);
    let status = svc
        .process
        .wait_timeout_async(Duration::from_secs(20))
        .await;
    assert!(
        status.is_some_and(|s| s.success()),
        "{}",
        svc.process.output()
    );
    svc.process.output()
}

/// Attributes a span must have (`Some`) or not have (`None`).
type Attributes = Vec<(&'static str, Option<AttrValue>)>;

fn attr<'a>(span: &'a Span, key: &str) -> Option<&'a AttrValue> {
    span.attributes.get(key)
}

fn string(value: &str) -> AttrValue {
    AttrValue::String(value.into())
}

/// addsvc's listeners, each with addcli's flag for it.
fn listeners(svc: &Addsvc) -> [(&'static str, std::net::SocketAddr); 3] {
    [
        ("--http-addr", svc.http),
        ("--jsonrpc-addr", svc.jsonrpc),
        ("--grpc-addr", svc.grpc),
    ]
}

/// Sums 1 and 2 with addcli over each of addsvc's transports, with addcli's `extra` flags.
async fn sum_over_each_transport(svc: &Addsvc, extra: &[&str]) {
    for (flag, addr) in listeners(svc) {
        let mut args = vec![flag.to_owned(), addr.to_string()];
        args.extend(extra.iter().map(|arg| (*arg).to_owned()));
        args.extend(["1".to_owned(), "2".to_owned()]);
        let run = addcli_async(args).await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "1 + 2 = 3\n"),
            "{run:?}"
        );
    }
}

/// addsvc exporting its spans over OTLP/gRPC to `collector`, with `extra` flags.
async fn addsvc_to(collector: &OtlpReceiver, extra: &[&str]) -> Addsvc {
    let endpoint = collector.grpc_endpoint();
    let mut args = vec!["--otlp-endpoint", endpoint.as_str()];
    args.extend_from_slice(extra);
    start_with_async(&args).await
}

/// The only span named `name` of kind `kind`.
fn only<'a>(spans: &'a [Span], kind: SpanKind, name: &str) -> &'a Span {
    let found: Vec<&Span> = spans
        .iter()
        .filter(|span| span.kind == kind && span.name == name)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} span {name:?} in\n{}",
        tree(spans)
    );
    found[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_addcli_call_over_each_transport_is_one_trace_of_a_client_and_a_server_span() {
    let collector = OtlpReceiver::start().await;
    let svc = addsvc_to(&collector, &[]).await;
    let http_endpoint = collector.http_endpoint();
    let names = [
        ("POST", "POST /sum"),
        ("sum", "sum"),
        ("pb.Add/Sum", "pb.Add/Sum"),
    ];
    // The attributes of OpenTelemetry's semantic conventions (v1.27.0) each side records,
    // by transport (the others are checked in kit-http's and kit-grpc's own tests).
    let port = |addr: std::net::SocketAddr| Some(AttrValue::Int(addr.port().into()));
    let expected: [(Attributes, Attributes); 3] = [
        (
            vec![
                ("http.request.method", Some(string("POST"))),
                ("http.response.status_code", Some(AttrValue::Int(200))),
                ("server.address", Some(string("127.0.0.1"))),
                ("server.port", port(svc.http)),
                (
                    "url.full",
                    Some(string(&format!("http://{}/sum", svc.http))),
                ),
            ],
            vec![
                ("http.request.method", Some(string("POST"))),
                ("http.route", Some(string("/sum"))),
                ("http.response.status_code", Some(AttrValue::Int(200))),
                ("url.path", Some(string("/sum"))),
                ("server.port", port(svc.http)),
                ("error.type", None),
            ],
        ),
        (
            vec![
                ("rpc.system", Some(string("jsonrpc"))),
                ("rpc.method", Some(string("sum"))),
                ("rpc.jsonrpc.version", Some(string("2.0"))),
                ("server.port", port(svc.jsonrpc)),
            ],
            vec![
                ("rpc.system", Some(string("jsonrpc"))),
                ("rpc.method", Some(string("sum"))),
                ("rpc.jsonrpc.error_code", None),
            ],
        ),
        (
            vec![
                ("rpc.system", Some(string("grpc"))),
                ("rpc.service", Some(string("pb.Add"))),
                ("rpc.method", Some(string("Sum"))),
                ("rpc.grpc.status_code", Some(AttrValue::Int(0))),
                ("server.address", Some(string("127.0.0.1"))),
                ("server.port", port(svc.grpc)),
            ],
            vec![
                ("rpc.system", Some(string("grpc"))),
                ("rpc.service", Some(string("pb.Add"))),
                ("rpc.method", Some(string("Sum"))),
                ("rpc.grpc.status_code", Some(AttrValue::Int(0))),
                ("server.port", port(svc.grpc)),
            ],
        ),
    ];
    let cases = listeners(&svc).into_iter().zip(names).zip(expected);
    for (i, (((flag, addr), (client_name, server_name)), (client_attrs, server_attrs))) in
        cases.enumerate()
    {
        // addcli exports over OTLP/HTTP, addsvc over gRPC: both protocols in one trace.
        let run = addcli_async(vec![
            flag.into(),
            addr.to_string(),
            "--otlp-endpoint".into(),
            http_endpoint.clone(),
            "--otlp-protocol".into(),
            "http".into(),
            "1".into(),
            "2".into(),
        ])
        .await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "1 + 2 = 3\n"),
            "{run:?}"
        );
        // addcli flushed before exiting; addsvc exports within its interval.
        let spans = collector
            .received()
            .wait_for_spans(2 * (i + 1), ARRIVE)
            .await;
        let client = only(&spans, SpanKind::Client, client_name);
        let server = only(&spans, SpanKind::Server, server_name);
        assert_eq!(client.service_name.as_deref(), Some("addcli"));
        assert_eq!(server.service_name.as_deref(), Some("addsvc"));
        assert_eq!(
            client.parent_span_id, None,
            "addcli's call starts the trace"
        );
        assert_eq!(server.trace_id, client.trace_id);
        assert_eq!(server.parent_span_id.as_ref(), Some(&client.span_id));
        assert_eq!(
            (&client.status, &server.status),
            (&Status::Unset, &Status::Unset)
        );
        for (key, value) in client_attrs {
            assert_eq!(attr(client, key), value.as_ref(), "{flag} client {key}");
        }
        for (key, value) in server_attrs {
            assert_eq!(attr(server, key), value.as_ref(), "{flag} server {key}");
        }
    }
    stop(svc).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_call_traced_to_zipkin_is_a_client_error_and_logged_with_its_trace_id() {
    let zipkin = ZipkinReceiver::start().await;
    let url = zipkin.endpoint();
    let svc = start_with_async(&["--zipkin-url", &url]).await;
    let run = addcli_async(vec![
        "--http-addr".into(),
        svc.http.to_string(),
        "--zipkin-url".into(),
        url.clone(),
        "0".into(),
        "0".into(),
    ])
    .await;
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "error: can't sum two zeroes\n"),
        "{run:?}"
    );
    let spans = zipkin.received().wait_for_spans(2, ARRIVE).await;
    let client = only(&spans, SpanKind::Client, "POST");
    let server = only(&spans, SpanKind::Server, "POST /sum");
    assert_eq!(client.service_name.as_deref(), Some("addcli"));
    assert_eq!(server.service_name.as_deref(), Some("addsvc"));
    assert_eq!(server.trace_id, client.trace_id);
    assert_eq!(server.parent_span_id.as_ref(), Some(&client.span_id));
    // A 4xx answer is the client's error, not the server's (the HTTP conventions); Zipkin
    // carries every attribute as a string tag.
    assert_eq!(
        attr(client, "http.response.status_code"),
        Some(&string("400"))
    );
    assert_eq!(attr(client, "error.type"), Some(&string("400")));
    assert!(matches!(client.status, Status::Error(_)), "{client:#?}");
    assert_eq!(
        attr(server, "http.response.status_code"),
        Some(&string("400"))
    );
    assert_eq!(attr(server, "error.type"), None);
    assert_eq!(server.status, Status::Unset);
    assert!(zipkin.received().rejections().is_empty());
    // The line addsvc logged for the call carries the trace's id.
    let output = stop(svc).await;
    let line = output
        .lines()
        .find(|line| line.contains("msg=\"call rejected\""))
        .unwrap_or_else(|| panic!("no rejected call logged in\n{output}"));
    assert!(
        line.contains(&format!(" trace_id={} ", client.trace_id)),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsampled_traces_export_nothing_from_either_process() {
    let collector = OtlpReceiver::start().await;
    let svc = addsvc_to(&collector, &["--trace-sample", "0"]).await;
    let endpoint = collector.grpc_endpoint();
    sum_over_each_transport(&svc, &["--otlp-endpoint", &endpoint, "--trace-sample", "0"]).await;
    // Both processes flushed before exiting: what was not exported then never will be.
    let output = stop(svc).await;
    assert!(
        output.contains("msg=\"tracing stopped\" exported=0 dropped=0"),
        "{output}"
    );
    assert_eq!(collector.received().spans(), []);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_its_collector_down_addsvc_serves_and_counts_the_spans_it_dropped() {
    // A port nothing listens on.
    let down = format!("http://{}", kit_testkit::free_addr());
    let svc = start_with_async(&["--otlp-endpoint", &down]).await;
    sum_over_each_transport(&svc, &[]).await;
    // One server span per call, none delivered.
    let output = stop(svc).await;
    assert!(
        output.contains("msg=\"tracing stopped\" exported=0 dropped=3"),
        "{output}"
    );
}

/// A two-hop chain: addcli → a front service in this process (JSON-RPC, an internal span
/// around each call, then addsvc's gRPC client) → addsvc. Three processes, one trace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_hop_chain_is_one_trace_across_three_services() {
    use addsvc::add;
    use kit_app::{App, ShutdownFlags};
    use kit_tracing::otel::{OtlpProtocol, Tracing};

    let collector = OtlpReceiver::start().await;
    let svc = addsvc_to(&collector, &[]).await;

    // The front: this process's spans go to the same collector as service "front".
    let traced = Tracing::builder("front")
        .otlp(collector.grpc_endpoint(), OtlpProtocol::Grpc)
        .start()
        .unwrap();
    kit_tracing::try_init_traced(kit_tracing::Format::Logfmt, "warn", &traced).unwrap();
    let backend = add::grpc::connect_lazy(&svc.grpc.to_string()).unwrap();
    let set = add::Set::with_middleware(backend, |method| kit::middleware::chain().span(method));
    let (stop_front, front_stopped) = tokio::sync::oneshot::channel::<()>();
    let front = App::new("front", ShutdownFlags::default())
        .http(
            "jsonrpc",
            "127.0.0.1:0".parse().unwrap(),
            add::jsonrpc::server(&set),
        )
        .stop_on(async {
            let _ = front_stopped.await;
        })
        .start()
        .await
        .unwrap();
    let front_addr = front.local_addr("jsonrpc").unwrap();

    let run = addcli_async(vec![
        "--jsonrpc-addr".into(),
        front_addr.to_string(),
        "--otlp-endpoint".into(),
        collector.grpc_endpoint(),
        "20".into(),
        "22".into(),
    ])
    .await;
    assert_eq!(
        (run.code, run.stdout.as_str()),
        (0, "20 + 22 = 42\n"),
        "{run:?}"
    );
    stop_front.send(()).unwrap();
    front.wait().await.unwrap();
    traced.handle().flush_and_stop().await.unwrap();

    let spans = collector.received().wait_for_spans(5, ARRIVE).await;
    assert_eq!(spans.len(), 5, "{}", tree(&spans));
    let cli = only(&spans, SpanKind::Client, "sum");
    let front_server = only(&spans, SpanKind::Server, "sum");
    let front_internal = only(&spans, SpanKind::Internal, "Sum");
    let front_client = only(&spans, SpanKind::Client, "pb.Add/Sum");
    let backend = only(&spans, SpanKind::Server, "pb.Add/Sum");
    let chain = [cli, front_server, front_internal, front_client, backend];
    let services = chain.map(|span| span.service_name.as_deref());
    assert_eq!(
        services,
        [
            Some("addcli"),
            Some("front"),
            Some("front"),
            Some("front"),
            Some("addsvc")
        ]
    );
    assert_eq!(cli.parent_span_id, None);
    for pair in chain.windows(2) {
        assert_eq!(pair[1].trace_id, cli.trace_id, "{}", tree(&spans));
        assert_eq!(
            pair[1].parent_span_id.as_ref(),
            Some(&pair[0].span_id),
            "{}",
            tree(&spans)
        );
    }
    stop(svc).await;
}
