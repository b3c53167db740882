//! Request instrumentation as a tower layer with its own future: no boxing per request, and
//! the in-flight gauge is decremented by a guard, so a request whose client went away (its
//! future dropped mid-way) does not stay "in flight" and stall the shutdown drain.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::http::Request;
use axum::response::Response;
use tower_layer::Layer;
use tower_service::Service;

use crate::metrics::{Endpoint, method_index};
use crate::routes::App;

#[derive(Clone, Copy)]
pub struct TrackLayer(pub &'static App);

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track { inner, app: self.0 }
    }
}

#[derive(Clone)]
pub struct Track<S> {
    inner: S,
    app: &'static App,
}

impl<S, B> Service<Request<B>> for Track<S>
where
    S: Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> TrackFuture<S::Future> {
        let endpoint = Endpoint::from_path(req.uri().path());
        let method = method_index(req.method());
        self.app.metrics.in_flight.inc();
        TrackFuture {
            inner: self.inner.call(req),
            app: self.app,
            endpoint,
            method,
            start: Instant::now(),
            _in_flight: InFlight(self.app),
        }
    }
}

/// Counts the request out of `http_requests_in_flight` when dropped, finished or not.
struct InFlight(&'static App);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics.in_flight.dec();
    }
}

pin_project_lite::pin_project! {
    pub struct TrackFuture<F> {
        #[pin]
        inner: F,
        app: &'static App,
        endpoint: Endpoint,
        method: usize,
        start: Instant,
        _in_flight: InFlight,
    }
}

impl<F> Future for TrackFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = std::task::ready!(this.inner.poll(cx));
        this.app.metrics.observe(
            *this.endpoint,
            *this.method,
            response.status().as_u16(),
            this.start.elapsed(),
        );
        Poll::Ready(Ok(response))
    }
}
