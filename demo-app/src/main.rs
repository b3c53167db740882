//! demo-app: the small, instrumented web app kindling delivers. See routes.rs for the
//! endpoints, config.rs for the environment it reads and server.rs for shutdown.

mod config;
mod metrics;
mod routes;
mod server;

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

    // One thread: per request the app does microseconds of work, so a single event loop
    // serves the load with the least memory and no cross-thread wake-ups.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
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
