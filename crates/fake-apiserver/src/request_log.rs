//! The requests a server served (or a client sent), in order, as "METHOD /path?query", and
//! waits on them: tests order a simulated controller after kindling's own request (its watch)
//! by construction rather than by a sleep.

use std::time::Duration;

/// Cheap to clone; clones share one log.
#[derive(Clone)]
pub struct RequestLog {
    log: std::sync::Arc<tokio::sync::watch::Sender<Vec<String>>>,
}

impl Default for RequestLog {
    fn default() -> RequestLog {
        RequestLog {
            log: std::sync::Arc::new(tokio::sync::watch::Sender::new(Vec::new())),
        }
    }
}

impl RequestLog {
    /// Adds one request, "METHOD /path?query".
    pub fn record(&self, request: String) {
        self.log.send_modify(|log| log.push(request));
    }

    /// Every request so far, oldest first.
    pub fn all(&self) -> Vec<String> {
        self.log.borrow().clone()
    }

    /// How many requests so far: pass it as `since` to consider only later requests.
    pub fn mark(&self) -> usize {
        self.log.borrow().len()
    }

    /// Returns the first request from the `since`-th on (already recorded or yet to come) for
    /// which `seen` holds. Panics after 30 s, naming `what` and listing what was recorded.
    pub async fn until(&self, since: usize, what: &str, seen: impl Fn(&str) -> bool) -> String {
        let find = |log: &Vec<String>| log.iter().skip(since).find(|r| seen(r)).cloned();
        let mut log = self.log.subscribe();
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            log.wait_for(|log| find(log).is_some())
                .await
                .ok()
                .and_then(|log| find(&log))
        })
        .await;
        match found {
            Ok(Some(request)) => request,
            _ => {
                let all = self.all();
                panic!(
                    "never saw {what}; the requests were:\n{}",
                    all[since.min(all.len())..].join("\n")
                )
            }
        }
    }

    /// Waits until a watch on the object `name` of the resource `plural` (e.g. "deployments")
    /// was opened from the `since`-th request on, as kindling's waits open it (a field selector
    /// on the name): from then on every change to that object reaches the watcher as an event.
    pub async fn until_watch(&self, since: usize, plural: &str, name: &str) -> String {
        let selector = format!("fieldSelector=metadata.name%3D{name}");
        self.until(since, &format!("a watch on {plural} {name}"), |request| {
            let (path, query) = request.split_once('?').unwrap_or((request, ""));
            let query: Vec<&str> = query.split('&').collect();
            path.rsplit('/').next() == Some(plural)
                && query.contains(&"watch=true")
                && query.contains(&selector.as_str())
        })
        .await
    }
}
