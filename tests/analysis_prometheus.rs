//! The AnalysisTemplates' queries on a real Prometheus (Debian's) scraping real demo-app
//! processes, labelled the way the ServiceMonitor labels them (namespace, service, pod,
//! rollouts_pod_template_hash). Arguments are substituted like Argo Rollouts does
//! (`{{args.name}}`), the query runs through Prometheus's HTTP API, and each metric's
//! `successCondition` is evaluated by a tiny parser for the one form the templates use,
//! `result[0] <op> <number>` (any other form fails the test rather than passing unchecked).
//! One measurement per metric is taken; count/failureLimit are Argo Rollouts' business.

mod support;

use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A child process killed on drop (also on panic).
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// $KINDLING_TEST_DEMO_APP (a prebuilt binary), else target/debug/demo-app built with
/// `cargo build -p demo-app` (a workspace member; a no-op when up to date).
fn demo_app_binary() -> Option<PathBuf> {
    if let Some(bin) = std::env::var_os("KINDLING_TEST_DEMO_APP") {
        return Some(PathBuf::from(bin));
    }
    static BUILD: Mutex<()> = Mutex::new(());
    let _guard = BUILD.lock().unwrap();
    let bin = support::root().join("target/debug/demo-app");
    if !support::root().join("demo-app/src/main.rs").is_file() {
        return support::skip("demo-app/ not in this tree");
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "demo-app"])
        .current_dir(support::root())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p demo-app failed");
    Some(bin)
}

struct App {
    namespace: &'static str,
    hash: &'static str,
    env: Vec<(&'static str, &'static str)>,
    /// Concurrent clients on /api/data (0 = no traffic).
    clients: usize,
    port: u16,
}

fn start_app(bin: &Path, app: &App) -> Proc {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("BIND_ADDR", "127.0.0.1")
        .env("PORT", app.port.to_string())
        .env("VERSION", app.hash)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in &app.env {
        cmd.env(k, v);
    }
    let proc = Proc(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(20);
    while get(app.port, "/ready") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "demo-app on {} not ready",
            app.port
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    proc
}

/// One HTTP/1.1 GET on 127.0.0.1; the status code.
fn get(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

fn start_prometheus(dir: &Path, port: u16, apps: &[App]) -> Proc {
    let mut config =
        String::from("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n");
    for (i, app) in apps.iter().enumerate() {
        config.push_str(&format!(
            "  - job_name: app{i}\n    metrics_path: /metrics\n    static_configs:\n      - targets: ['127.0.0.1:{}']\n        labels:\n          namespace: {}\n          service: demo-app-metrics\n          pod: demo-app-{}-{i}\n          rollouts_pod_template_hash: {}\n",
            app.port, app.namespace, app.hash, app.hash
        ));
    }
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    let proc = Proc(
        Command::new("/usr/bin/prometheus")
            .arg(format!(
                "--config.file={}",
                dir.join("prometheus.yml").display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while get(port, "/-/ready") != Some(200) {
        assert!(
            Instant::now() < deadline,
            "prometheus not ready: {}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    proc
}

/// An instant query through the HTTP API: the vector's values (what Argo Rollouts calls
/// `result` for a vector: []float64).
fn query(port: u16, promql: &str) -> Vec<f64> {
    let encoded: String = promql
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = format!("query={encoded}");
    write!(s, "POST /api/v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let json = text.split_once("\r\n\r\n").unwrap().1;
    // Prometheus answers with Content-Length, no chunking, for small bodies.
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v["status"], "success", "{promql}: {v}");
    assert_eq!(v["data"]["resultType"], "vector", "{promql}");
    v["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"][1].as_str().unwrap().parse::<f64>().unwrap())
        .collect()
}

/// `result[0] <op> <number>`, the form the templates use. Panics on any other form.
fn condition_holds(condition: &str, result: &[f64]) -> bool {
    let rest = condition
        .trim()
        .strip_prefix("result[0]")
        .unwrap_or_else(|| panic!("unsupported condition {condition:?}"));
    let rest = rest.trim_start();
    let (op, number) = ["<=", ">=", "==", "<", ">"]
        .iter()
        .find_map(|op| rest.strip_prefix(op).map(|n| (*op, n)))
        .unwrap_or_else(|| panic!("unsupported condition {condition:?}"));
    let number: f64 = number
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("unsupported condition {condition:?}"));
    // Argo Rollouts: result[0] on an empty vector is an evaluation error, never a pass.
    let x = *result
        .first()
        .unwrap_or_else(|| panic!("empty result: an Error measurement in Argo Rollouts"));
    match op {
        "<=" => x <= number,
        ">=" => x >= number,
        "==" => x == number,
        "<" => x < number,
        _ => x > number,
    }
}

/// Loads a template from the base, substitutes the args, runs each metric once:
/// (metric name, value, passed).
fn evaluate(prom: u16, template: &str, namespace: &str, hash: &str) -> Vec<(String, f64, bool)> {
    let path = support::root().join(format!(
        "manifests/demo-app/base/analysistemplate-{template}.yaml"
    ));
    let doc = kindling::lint::input::parse_documents(&std::fs::read_to_string(path).unwrap())
        .unwrap()
        .remove(0);
    let args: Vec<&str> = doc["spec"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(args, ["namespace", "canary-hash"]);
    doc["spec"]["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let q = m["provider"]["prometheus"]["query"]
                .as_str()
                .unwrap()
                .replace("{{args.namespace}}", namespace)
                .replace("{{args.canary-hash}}", hash);
            assert!(!q.contains("{{"), "unsubstituted argument in {q}");
            let result = query(prom, &q);
            let cond = m["successCondition"].as_str().unwrap();
            let ok = condition_holds(cond, &result);
            (m["name"].as_str().unwrap().to_string(), result[0], ok)
        })
        .collect()
}

fn passes(results: &[(String, f64, bool)]) -> bool {
    results.iter().all(|r| r.2)
}

fn failed(results: &[(String, f64, bool)], metric: &str) -> bool {
    results.iter().any(|r| r.0 == metric && !r.2)
}

#[test]
fn analysis_templates_judge_the_canary_on_a_real_prometheus() {
    if !Path::new("/usr/bin/prometheus").is_file() {
        return support::skip("Debian prometheus not installed").unwrap_or(());
    }
    let Some(bin) = demo_app_binary() else { return };
    let apps = vec![
        App {
            namespace: "staging",
            hash: "good",
            env: vec![],
            clients: 2,
            port: support::free_port(),
        },
        App {
            namespace: "staging",
            hash: "errors",
            env: vec![("FAULT_ERROR_RATE", "0.5")],
            clients: 2,
            port: support::free_port(),
        },
        App {
            namespace: "staging",
            hash: "slow",
            env: vec![("FAULT_LATENCY_MS", "800")],
            clients: 4,
            port: support::free_port(),
        },
        // Same hash as "good" in another namespace, all errors: must not leak into staging.
        App {
            namespace: "production",
            hash: "good",
            env: vec![("FAULT_ERROR_RATE", "1.0")],
            clients: 2,
            port: support::free_port(),
        },
        // The stable pods of staging, all errors: must not leak into the canary's result.
        App {
            namespace: "staging",
            hash: "stable",
            env: vec![("FAULT_ERROR_RATE", "1.0")],
            clients: 2,
            port: support::free_port(),
        },
        // Deployed, scraped, never called: "no traffic".
        App {
            namespace: "staging",
            hash: "idle",
            env: vec![],
            clients: 0,
            port: support::free_port(),
        },
    ];
    let _procs: Vec<Proc> = apps.iter().map(|a| start_app(&bin, a)).collect();
    let dir = tempfile::tempdir().unwrap();
    let prom_port = support::free_port();
    let _prom = start_prometheus(dir.path(), prom_port, &apps);

    // Bounded load: a few clients per app for 12 s, paced, 127.0.0.1 only.
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for app in &apps {
        for _ in 0..app.clients {
            let (port, stop) = (app.port, stop.clone());
            workers.push(std::thread::spawn(move || {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) && n < 2000 {
                    get(port, "/api/data");
                    n += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
            }));
        }
    }
    std::thread::sleep(Duration::from_secs(12));
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    // Let the last requests be scraped.
    std::thread::sleep(Duration::from_secs(2));

    for template in ["success-rate", "error-rate-only"] {
        let good = evaluate(prom_port, template, "staging", "good");
        assert!(
            passes(&good),
            "{template}: healthy canary passes despite bad stable pods and a bad namesake in production: {good:?}"
        );
        let errors = evaluate(prom_port, template, "staging", "errors");
        assert!(
            failed(&errors, "error-rate"),
            "{template}: FAULT_ERROR_RATE=0.5 fails: {errors:?}"
        );
        let idle = evaluate(prom_port, template, "staging", "idle");
        assert!(
            passes(&idle),
            "{template}: no traffic is measured as healthy: {idle:?}"
        );
        let other_ns = evaluate(prom_port, template, "production", "good");
        assert!(
            !passes(&other_ns),
            "{template}: production's pods are judged on their own errors: {other_ns:?}"
        );
    }
    let errors = evaluate(prom_port, "success-rate", "staging", "errors");
    assert!(failed(&errors, "success-rate"), "{errors:?}");
    let slow = evaluate(prom_port, "success-rate", "staging", "slow");
    assert!(
        failed(&slow, "p95-latency"),
        "FAULT_LATENCY_MS=800 fails p95: {slow:?}"
    );
    assert!(
        !failed(&slow, "error-rate"),
        "slow is not erroring: {slow:?}"
    );
    let p95 = slow.iter().find(|r| r.0 == "p95-latency").unwrap().1;
    assert!(
        p95 > 0.5 && p95 <= 1.0,
        "p95 of 800 ms requests lies in the (0.5, 1] bucket: {p95}"
    );
    let good = evaluate(prom_port, "success-rate", "staging", "good");
    let p95 = good.iter().find(|r| r.0 == "p95-latency").unwrap().1;
    assert!(
        p95 > 0.0 && p95 < 0.5,
        "healthy p95 measured, not the no-traffic 0: {p95}"
    );
    let rate = good.iter().find(|r| r.0 == "success-rate").unwrap().1;
    assert_eq!(rate, 1.0, "measured success rate of the healthy canary");
}

#[test]
fn condition_parser_understands_only_the_simple_form() {
    assert!(condition_holds("result[0] >= 0.99", &[0.995]));
    assert!(!condition_holds("result[0] >= 0.99", &[0.5]));
    assert!(condition_holds("result[0] < 0.5", &[0.1]));
    assert!(
        !condition_holds("result[0] < 0.5", &[f64::NAN]),
        "NaN fails, as in Argo Rollouts"
    );
    assert!(std::panic::catch_unwind(|| condition_holds("len(result) == 0", &[1.0])).is_err());
    assert!(std::panic::catch_unwind(|| condition_holds("result[0] < 1", &[])).is_err());
}
