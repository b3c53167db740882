//! Benchmark for `scripts/bench.sh apply`: client-side time to apply Argo CD's install.yaml
//! to a fresh fake API server (parse + discovery + apply), median of several runs, the
//! number of HTTP requests one apply makes, and where the time goes: parsing versus applying,
//! and the CPU time of the whole process (the fake runs in it, so its work is counted too; on
//! a loaded machine wall time grows, CPU time much less).
//!
//! Usage: bench_apply <install.yaml> [runs]

use fake_apiserver::FakeApiServer;
use kindling::k8s::{self, Applier};
use kindling::report::{NullReporter, ReporterExt, SharedReporter};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: bench_apply <install.yaml> [runs]");
    let runs: usize = args.next().map_or(7, |r| r.parse().expect("runs"));
    let reporter: SharedReporter = Arc::new(NullReporter);
    let (mut totals, mut parses, mut applies, mut cpus) = (vec![], vec![], vec![], vec![]);
    let mut requests = 0;
    for _ in 0..runs {
        let fake = FakeApiServer::builder().namespace("argocd").start().await;
        let client = k8s::client_from_kubeconfig(fake.kubeconfig(), None)
            .await
            .unwrap();
        fake.reset_requests();
        let cpu_before = cpu_time();
        let started = Instant::now();
        let mut manifests = k8s::load_file(std::path::Path::new(&path)).unwrap();
        if std::env::var_os("BENCH_SKIP_CRDS").is_some() {
            manifests.retain(|m| !m.is_crd());
        }
        let parsed = started.elapsed();
        let applier = Applier::new(client).default_namespace("argocd");
        let step = reporter.step("apply", "apply");
        let report = applier.apply(&manifests, &step).await.unwrap();
        report.finish(step);
        let elapsed = started.elapsed();
        let cpu = cpu_time().saturating_sub(cpu_before);
        eprintln!(
            "run: {} ms (parse {} ms, apply {} ms, cpu {} ms), {}",
            elapsed.as_millis(),
            parsed.as_millis(),
            (elapsed - parsed).as_millis(),
            cpu.as_millis(),
            report.summary()
        );
        totals.push(elapsed.as_millis());
        parses.push(parsed.as_millis());
        applies.push((elapsed - parsed).as_millis());
        cpus.push(cpu.as_millis());
        requests = fake.requests();
    }
    println!("apply_argocd_ms={}", median(totals));
    println!("apply_argocd_parse_ms={}", median(parses));
    println!("apply_argocd_apply_ms={}", median(applies));
    println!("apply_argocd_cpu_ms={}", median(cpus));
    println!("apply_argocd_requests={requests}");
}

fn median(mut v: Vec<u128>) -> u128 {
    v.sort();
    v[v.len() / 2]
}

/// User + system CPU time of this process so far, from /proc/self/stat (clock ticks, which
/// are 10 ms on Linux; fine for a median of runs of hundreds of milliseconds).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    Duration::from_millis(fields.iter().sum::<u64>() * 10)
}
