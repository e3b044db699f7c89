//! addsvc registering its listeners and addcli finding them, through real etcd and
//! ZooKeeper (and the Consul stand-in): CONTRACTS.md's registration and discovery flags.

use std::time::Duration;

use kit_testkit::{Process, Signal};

use crate::support::{Addsvc, Run, addcli, start_with_async};

/// addsvc's transports, as registries name them.
const TRANSPORTS: [&str; 3] = ["http", "grpc", "jsonrpc"];

/// How long a registry may take to reflect a start or a stop.
const SETTLE: Duration = Duration::from_secs(20);

/// Waits (bounded) until addsvc has made `n` registrations (`msg=registered` once per
/// listener and registry).
async fn registrations(process: &Process, n: usize) {
    let deadline = tokio::time::Instant::now() + SETTLE;
    while process.output().matches("msg=registered").count() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{}",
            process.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (bounded) until `svc` has registered its three listeners in one registry.
async fn registered_everywhere(svc: &Addsvc) {
    registrations(&svc.process, 3).await;
}

/// addcli with `args`, off the test's runtime.
async fn addcli_async(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        addcli(&args)
    })
    .await
    .unwrap()
}

#[cfg(feature = "etcd")]
mod etcd {
    use super::*;
    use kit_testkit::etcd::Etcd;

    /// The `host:port` values registered under `/services/addsvc/<transport>/`, sorted.
    async fn registered(etcd: &Etcd, transport: &str) -> Vec<String> {
        let prefix = format!("/services/addsvc/{transport}/");
        let out = etcd
            .etcdctl(["get", "--prefix", "--print-value-only", &prefix])
            .await;
        let mut values: Vec<String> = out
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect();
        values.sort();
        values
    }

    /// Waits (bounded) until `transport`'s registered instances are `expected`.
    async fn wait_registered(etcd: &Etcd, transport: &str, expected: &[String]) {
        let deadline = tokio::time::Instant::now() + SETTLE;
        loop {
            let now = registered(etcd, transport).await;
            if now == expected {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{transport}: {now:?}, not {expected:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn sorted(addrs: impl IntoIterator<Item = std::net::SocketAddr>) -> Vec<String> {
        let mut addrs: Vec<String> = addrs.into_iter().map(|a| a.to_string()).collect();
        addrs.sort();
        addrs
    }

    async fn sum_through_etcd(etcd: &Etcd, transport: &str) -> Run {
        let registry = etcd.client_addr().to_string();
        addcli_async(
            ["--etcd-addr", &registry, "--transport", transport, "1", "2"]
                .map(str::to_owned)
                .to_vec(),
        )
        .await
    }

    /// The calls each addcli loop makes.
    const CALLS: usize = 400;

    /// Waits (bounded) until `loop_` has printed `n` lines: `n` calls made.
    async fn calls_made(loop_: &Process, n: usize) {
        let seen = std::cell::Cell::new(0);
        // Each line is looked at once.
        let nth = |_: &str| {
            seen.set(seen.get() + 1);
            seen.get() >= n
        };
        loop_.wait_for_line_matching_async(nth, SETTLE).await;
    }

    /// How many Sum calls over `transport` the addsvc whose debug listener is `debug`
    /// answered with success (its transport metrics).
    async fn sums_served(debug: std::net::SocketAddr, transport: &str) -> u64 {
        let route = match transport {
            "http" => "POST /sum",
            "grpc" => "/pb.Add/Sum",
            _ => "sum",
        };
        let key = format!(
            r#"example_addsvc_server_request_duration_seconds_count{{transport="{transport}",route="{route}",code="OK"}} "#
        );
        let metrics = kit_testkit::http::request(debug, "GET", "/metrics", "")
            .await
            .body;
        let line = metrics.lines().find(|l| l.starts_with(&key));
        line.map_or(0, |l| l[key.len()..].parse().unwrap())
    }

    /// CONTRACTS.md's discovery through etcd: one addcli loop per transport goes round three
    /// addsvc instances while one of them is killed (its keys stay until their lease runs
    /// out, so calls still meet it, and calls in flight on it are lost) and another is
    /// stopped (it deregisters as its stop begins): every call succeeds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn three_instances_in_etcd_and_every_call_succeeds_when_one_dies() {
        let etcd = Etcd::started().await;
        let registry = etcd.client_addr().to_string();
        // A stopped instance deregisters, then serves on for the drain delay, so that the
        // clients drop it before its listeners close (without it, a call may meet the
        // killed and the stopped instance in its three attempts).
        let flags = ["--etcd-addr", &registry, "--drain-delay", "500ms"];
        let mut services: Vec<Addsvc> = Vec::new();
        for _ in 0..3 {
            services.push(start_with_async(&flags).await);
        }
        for transport in TRANSPORTS {
            let addrs = services.iter().map(|s| match transport {
                "http" => s.http,
                "grpc" => s.grpc,
                _ => s.jsonrpc,
            });
            wait_registered(&etcd, transport, &sorted(addrs)).await;
        }
        let mut debug = Vec::new();
        for svc in &services {
            debug.push(crate::support::listening_async(&svc.process, "debug").await);
        }

        let calls = CALLS.to_string();
        let mut loops: Vec<Process> = TRANSPORTS
            .iter()
            .map(|transport| {
                Process::builder(env!("CARGO_BIN_EXE_addcli"))
                    .name(format!("addcli-{transport}"))
                    .args(["--etcd-addr", &registry, "--transport", transport])
                    .args(["--repeat", &calls, "--interval", "3ms", "1", "2"])
                    .spawn()
            })
            .collect();

        // The round robin goes round every instance.
        for loop_ in &loops {
            calls_made(loop_, CALLS / 10).await;
        }
        for (i, transport) in TRANSPORTS.iter().enumerate() {
            for debug in &debug {
                assert!(sums_served(*debug, transport).await > 0, "{transport}");
            }
            assert!(
                loops[i].output().lines().count() < CALLS,
                "{transport}: too late"
            );
        }

        let mut killed = services.remove(0);
        killed.process.signal(Signal::Kill);
        killed
            .process
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc killed");
        for loop_ in &loops {
            calls_made(loop_, CALLS / 5).await;
        }
        let mut stopped = services.remove(0);
        stopped.process.signal(Signal::Term);
        for (i, transport) in TRANSPORTS.iter().enumerate() {
            assert!(
                loops[i].output().lines().count() < CALLS,
                "{transport}: too late"
            );
        }
        stopped
            .process
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc stopped");
        assert!(
            stopped.process.output().contains("msg=deregistered"),
            "{}",
            stopped.process.output()
        );

        let expected = "1 + 2 = 3\n".repeat(CALLS);
        for (loop_, transport) in loops.iter_mut().zip(TRANSPORTS) {
            let status = loop_.wait_timeout_async(SETTLE).await.expect("addcli done");
            assert_eq!(
                (status.code(), loop_.output() == expected),
                (Some(0), true),
                "{transport}: {}",
                loop_.output()
            );
        }
    }

    #[tokio::test]
    async fn no_instances_in_etcd_is_a_clear_error() {
        let etcd = Etcd::started().await;
        let run = sum_through_etcd(&etcd, "http").await;
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (1, "error: 3 attempts failed: no endpoints available\n")
        );
    }
}

mod consul {
    use super::*;
    use kit_testkit::consul::ConsulStandIn;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn addsvc_registers_in_consul_and_addcli_finds_it() {
        let consul = ConsulStandIn::start().await;
        let agent = consul.addr().to_string();
        let mut svc = start_with_async(&["--consul-addr", &agent]).await;
        let args = |transport: &str| {
            [
                "--consul-addr",
                &agent,
                "--transport",
                transport,
                "-method",
                "concat",
                "a",
                "b",
            ]
            .map(str::to_owned)
            .to_vec()
        };
        // Registration runs beside serving: wait (bounded) for it.
        registered_everywhere(&svc).await;
        for transport in ["http", "grpc", "jsonrpc"] {
            let run = addcli_async(args(transport)).await;
            assert_eq!(
                (run.code, run.stdout.as_str()),
                (0, "\"a\" + \"b\" = \"ab\"\n"),
                "{transport}: {}",
                run.stderr
            );
        }

        svc.process.signal(Signal::Term);
        svc.process
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc stopped");
        let run = addcli_async(args("http")).await;
        assert_eq!(
            (run.code, run.stderr.as_str()),
            (1, "error: 3 attempts failed: no endpoints available\n")
        );
    }

    /// A listener on all interfaces has no address to register unless told one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn listeners_on_all_interfaces_register_the_advertised_host() {
        let consul = ConsulStandIn::start().await;
        let agent = consul.addr().to_string();
        let wide = [
            "--debug-addr",
            "off",
            "--grpc-addr",
            "off",
            "--jsonrpc-addr",
            "off",
            "--http-addr",
            "0.0.0.0:0",
            "--consul-addr",
            &agent,
        ];
        let mut refused = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
            .name("addsvc")
            .args(wide)
            .spawn();
        let status = refused
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc gave up");
        assert_eq!(status.code(), Some(1));
        assert!(
            refused
                .output()
                .contains("the http listener is bound to all interfaces (0.0.0.0:")
                && refused
                    .output()
                    .contains("set --advertise-host to the host clients should use"),
            "{}",
            refused.output()
        );

        let advertised = Process::builder(env!("CARGO_BIN_EXE_addsvc"))
            .name("addsvc")
            .args(wide)
            .args(["--advertise-host", "127.0.0.1"])
            .spawn();
        let port = crate::support::listening_async(&advertised, "http")
            .await
            .port();
        registrations(&advertised, 1).await;
        let run = addcli_async(
            ["--consul-addr", &agent, "--transport", "http", "2", "3"]
                .map(str::to_owned)
                .to_vec(),
        )
        .await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "2 + 3 = 5\n"),
            "{}",
            run.stderr
        );
        let health = kit_testkit::http::request(
            consul.addr(),
            "GET",
            "/v1/health/service/addsvc?tag=http",
            "",
        )
        .await;
        assert!(
            health.body.contains(&format!("\"Port\":{port}")),
            "{}",
            health.body
        );
        assert!(
            health.body.contains("\"Address\":\"127.0.0.1\""),
            "{}",
            health.body
        );
    }
}

mod zookeeper {
    use super::*;
    use kit_testkit::zookeeper::ZooKeeper;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_in_zookeeper_and_calls_survive_one_stopping() {
        let zk = ZooKeeper::start().await;
        let servers = zk.connect_string();
        let mut first = start_with_async(&["--zk-addr", &servers]).await;
        let second = start_with_async(&["--zk-addr", &servers]).await;
        let args = |transport: &str| {
            ["--zk-addr", &servers, "--transport", transport, "3", "4"]
                .map(str::to_owned)
                .to_vec()
        };
        // Registration runs beside serving: wait (bounded) until both are registered.
        registered_everywhere(&first).await;
        registered_everywhere(&second).await;
        let run = addcli_async(args("jsonrpc")).await;
        assert_eq!(
            (run.code, run.stdout.as_str()),
            (0, "3 + 4 = 7\n"),
            "{}",
            run.stderr
        );
        first.process.signal(Signal::Term);
        first
            .process
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc stopped");
        assert!(
            first.process.output().contains("msg=deregistered"),
            "{}",
            first.process.output()
        );
        for transport in ["http", "grpc", "jsonrpc"] {
            let run = addcli_async(args(transport)).await;
            assert_eq!(
                (run.code, run.stdout.as_str()),
                (0, "3 + 4 = 7\n"),
                "{transport}: {}",
                run.stderr
            );
        }
    }
}

mod dns {
    use super::*;
    use kit_testkit::dns::Unbound;

    /// `--dns-srv` with `--dns-resolver`: each SRV record's target address and port is an
    /// instance; a record of a stopped instance costs a retry, not the call.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn addcli_finds_addsvc_in_srv_records() {
        let svc = start_with_async(&[]).await;
        let gone = kit_testkit::free_port();
        let name = "_addsvc._tcp.svc.test.";
        let live = format!("{name} 60 IN SRV 0 0 {} live.svc.test.", svc.http.port());
        let dead = format!("{name} 60 IN SRV 0 0 {gone} live.svc.test.");
        let dns = Unbound::start(&[&live, &dead, "live.svc.test. 60 IN A 127.0.0.1"]).await;
        let resolver = dns.addr().to_string();
        for _ in 0..3 {
            let run = addcli_async(
                ["--dns-srv", name, "--dns-resolver", &resolver, "5", "6"]
                    .map(str::to_owned)
                    .to_vec(),
            )
            .await;
            assert_eq!(
                (run.code, run.stdout.as_str()),
                (0, "5 + 6 = 11\n"),
                "{}",
                run.stderr
            );
        }
    }

    /// `--dns-srv` without `--dns-resolver` (CONTRACTS.md: the system's resolver): in
    /// network and mount namespaces of the test's own (`kit_testkit::netns`, as root), a
    /// private `/etc/resolv.conf` names unbound on 127.0.0.1:53, and a name without a final
    /// dot is found through its search domain.
    #[test]
    fn addcli_finds_addsvc_through_the_system_resolver() {
        kit_testkit::netns::Namespace::new(
            "discovery::dns::addcli_finds_addsvc_through_the_system_resolver",
        )
        .file(
            "/etc/resolv.conf",
            "nameserver 127.0.0.1\nsearch test.\noptions timeout:1 attempts:1\n",
        )
        .run(|| async {
            let svc = start_with_async(&[]).await;
            let gone = kit_testkit::free_port();
            let name = "_addsvc._tcp.svc.test.";
            let live = format!("{name} 60 IN SRV 0 0 {} live.svc.test.", svc.http.port());
            let dead = format!("{name} 60 IN SRV 0 0 {gone} live.svc.test.");
            let _dns = Unbound::start_at(
                "127.0.0.1:53".parse().unwrap(),
                &[&live, &dead, "live.svc.test. 60 IN A 127.0.0.1"],
            )
            .await;
            for name in [name, "_addsvc._tcp.svc"] {
                let run =
                    addcli_async(["--dns-srv", name, "5", "6"].map(str::to_owned).to_vec()).await;
                assert_eq!(
                    (run.code, run.stdout.as_str()),
                    (0, "5 + 6 = 11\n"),
                    "{name}: {}",
                    run.stderr
                );
            }
        });
    }
}

mod eureka {
    use super::*;
    use kit_testkit::eureka::EurekaStandIn;

    /// `--eureka-url` (against the Eureka stand-in: Eureka cannot be installed here): each
    /// listener is application `ADDSVC-<TRANSPORT>` with its `host:port` as instance id,
    /// addcli finds and calls it over each transport, and the stop takes the instances out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn addsvc_registers_in_eureka_and_addcli_finds_it() {
        let eureka = EurekaStandIn::start().await;
        let url = eureka.url();
        let mut svc = start_with_async(&["--eureka-url", &url]).await;
        registered_everywhere(&svc).await;
        for (transport, addr) in [
            ("http", svc.http),
            ("grpc", svc.grpc),
            ("jsonrpc", svc.jsonrpc),
        ] {
            let app = format!("addsvc-{transport}");
            assert_eq!(eureka.instance_ids(&app), [addr.to_string()], "{transport}");
            let run = addcli_async(
                ["--eureka-url", &url, "--transport", transport, "7", "8"]
                    .map(str::to_owned)
                    .to_vec(),
            )
            .await;
            assert_eq!(
                (run.code, run.stdout.as_str()),
                (0, "7 + 8 = 15\n"),
                "{transport}: {}",
                run.stderr
            );
        }

        svc.process.signal(Signal::Term);
        svc.process
            .wait_timeout_async(SETTLE)
            .await
            .expect("addsvc stopped");
        assert!(
            svc.process.output().contains("msg=deregistered"),
            "{}",
            svc.process.output()
        );
        for transport in TRANSPORTS {
            let app = format!("addsvc-{transport}");
            assert_eq!(
                eureka.instance_ids(&app),
                Vec::<String>::new(),
                "{transport}"
            );
        }
    }
}
