//! Benchmark for `scripts/bench.sh apply`: client-side time to apply Argo CD's install.yaml
//! to a fresh fake API server (parse + discovery + apply), median of several runs, and the
//! number of HTTP requests one apply makes.
//!
//! Usage: bench_apply <install.yaml> [runs]

use fake_apiserver::FakeApiServer;
use kindling::k8s::{self, Applier};
use kindling::report::{NullReporter, ReporterExt, SharedReporter};
use std::sync::Arc;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .expect("usage: bench_apply <install.yaml> [runs]");
    let runs: usize = args.next().map_or(7, |r| r.parse().expect("runs"));
    let reporter: SharedReporter = Arc::new(NullReporter);
    let mut times = Vec::new();
    let mut requests = 0;
    for _ in 0..runs {
        let fake = FakeApiServer::builder().namespace("argocd").start().await;
        let client = k8s::client_from_kubeconfig(fake.kubeconfig(), None)
            .await
            .unwrap();
        fake.reset_requests();
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
        eprintln!(
            "run: {} ms (parse {} ms), {}",
            elapsed.as_millis(),
            parsed.as_millis(),
            report.summary()
        );
        times.push(elapsed.as_millis());
        requests = fake.requests();
    }
    times.sort();
    println!("apply_argocd_ms={}", times[times.len() / 2]);
    println!("apply_argocd_requests={requests}");
}
