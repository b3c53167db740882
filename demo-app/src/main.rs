//! demo-app: the small, instrumented web app kindling delivers. See routes.rs for the
//! endpoints, config.rs for the environment it reads and server.rs for shutdown.

mod config;
mod metrics;
mod routes;
mod server;
mod track;

use std::process::ExitCode;

fn main() -> ExitCode {
    let config = match config::Config::from_lookup(|name| std::env::var(name).ok()) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("demo-app: {e}; refusing to start");
            return ExitCode::from(2);
        }
    };
    let app: &'static routes::App = Box::leak(Box::new(routes::App::new(config)));

    // One thread runs everything on the main thread (no handoffs); see config.rs for the default.
    let runtime = if app.config.worker_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(app.config.worker_threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("demo-app: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run(app)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo-app: {e}");
            ExitCode::FAILURE
        }
    }
}
