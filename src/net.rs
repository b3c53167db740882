//! Why an HTTP download got no (good) answer, in words a user can act on: a timeout names its
//! limit, an unreachable host says so. Downloads that `up` needs (the kind CLI, upstream
//! manifests) use it, and their hints suggest the offline bundle when the network is the
//! problem.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("timed out after {}", crate::report::format_duration(*.after))]
    TimedOut {
        after: Duration,
        #[source]
        source: reqwest::Error,
    },

    #[error("cannot reach {host}")]
    Unreachable {
        host: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("the server answered HTTP {status}")]
    Status { status: reqwest::StatusCode },

    #[error("the transfer failed")]
    Transfer(#[source] reqwest::Error),
}

/// The time limits a client was built with, to name the one that ran out.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub connect: Duration,
    /// The whole request, body included (None: no limit).
    pub total: Option<Duration>,
}

impl Limits {
    /// A client with these limits (rustls with ring, as everywhere in kindling).
    pub fn client(&self) -> Result<reqwest::Client, NetError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder().connect_timeout(self.connect);
        if let Some(total) = self.total {
            builder = builder.timeout(total);
        }
        builder.build().map_err(NetError::Transfer)
    }

    /// Says which limit ran out, or that the host could not be reached.
    pub fn classify(&self, error: reqwest::Error) -> NetError {
        if let Some(status) = error.status() {
            return NetError::Status { status };
        }
        if error.is_timeout() {
            let after = match (error.is_connect(), self.total) {
                (false, Some(total)) => total,
                _ => self.connect,
            };
            return NetError::TimedOut {
                after,
                source: error,
            };
        }
        if error.is_connect() {
            let host = error
                .url()
                .and_then(|u| u.host_str())
                .unwrap_or("the server")
                .to_string();
            return NetError::Unreachable {
                host,
                source: error,
            };
        }
        NetError::Transfer(error)
    }
}

impl NetError {
    /// The network (not the server's answer) is the problem: an offline bundle helps.
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            NetError::TimedOut { .. } | NetError::Unreachable { .. }
        )
    }
}

/// The hint for a download that failed on the network: check it, or go offline.
pub const OFFLINE_HINT: &str = "check the network (and any proxy: HTTPS_PROXY); without internet, \
     bring the platform up from an offline bundle: `kindling up --bundle FILE` (docs/workshop.md)";

#[cfg(test)]
mod tests {
    use super::*;

    /// A port nothing listens on: the connection is refused at once.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn a_refused_connection_says_the_host_cannot_be_reached() {
        let limits = Limits {
            connect: Duration::from_secs(5),
            total: None,
        };
        let url = format!("http://127.0.0.1:{}/x", closed_port());
        let error = limits.client().unwrap().get(&url).send().await.unwrap_err();
        let error = limits.classify(error);
        assert_eq!(error.to_string(), "cannot reach 127.0.0.1");
        assert!(error.is_network());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout_naming_the_limit() {
        // Accepts the connection and never answers: the whole-request limit runs out.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let _server = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let limits = Limits {
            connect: Duration::from_secs(5),
            total: Some(Duration::from_millis(300)),
        };
        let url = format!("http://127.0.0.1:{port}/x");
        let error = limits.client().unwrap().get(&url).send().await.unwrap_err();
        let error = limits.classify(error);
        assert_eq!(error.to_string(), "timed out after 300ms");
        assert!(error.is_network());
    }
}
