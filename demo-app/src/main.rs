//! demo-app: the small, instrumented web app kindling delivers. See routes.rs for the
//! endpoints, config.rs for the environment it reads and server.rs for serving and shutdown.

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

    // The main thread runs one of the request threads plus signal handling and the drain;
    // server.rs starts the others, each with a runtime of its own.
    let runtime = match server::runtime() {
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
