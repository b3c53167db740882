//! The HTTP face of the fake: URL parsing, discovery, verbs, watch streams, pod logs.
//! One fallback handler parses paths itself: Kubernetes URLs are too irregular for a router
//! (`/api/v1/namespaces/x` is a Namespace, `/api/v1/namespaces/x/pods` are its Pods).

use crate::resources::{self, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{ApiError, Change, PatchType, Store};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub struct AppState {
    pub store: Arc<Store>,
    pub requests: AtomicU64,
    /// Every request served, as "METHOD /path?query", oldest first: tests wait on it to act
    /// after kindling's own request (e.g. its watch) instead of after a sleep.
    pub log: crate::RequestLog,
}

fn json_response(code: u16, body: &Value) -> Response {
    let mut r = (StatusCode::from_u16(code).unwrap(), body.to_string()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, "application/json".parse().unwrap());
    r
}

fn error(e: ApiError) -> Response {
    json_response(e.code, &e.status())
}

fn not_found() -> Response {
    error(ApiError::new(
        404,
        "NotFound",
        "the server could not find the requested resource",
    ))
}

/// What a resource URL names.
struct Target {
    def: ResourceDef,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_query(uri: &Uri) -> HashMap<String, String> {
    uri.query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Some((decode(k), decode(v))).filter(|(k, _)| !k.is_empty())
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub async fn handle(
    axum::extract::State(app): axum::extract::State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    app.requests.fetch_add(1, Ordering::Relaxed);
    app.log.record(format!("{method} {uri}"));
    let store = &app.store;
    let path = uri.path().trim_end_matches('/');
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let aggregated = accept.contains("as=APIGroupDiscoveryList");
    let defs = store.defs();

    // Discovery and version.
    match segs.as_slice() {
        ["version"] => {
            return json_response(
                200,
                &json!({"major": "1", "minor": "36", "gitVersion": "v1.36.0-fake", "platform": "linux/amd64"}),
            );
        }
        ["api"] if aggregated => {
            return discovery_response(resources::aggregated(&defs, true), true);
        }
        ["api"] => {
            return json_response(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            );
        }
        ["apis"] if aggregated => {
            return discovery_response(resources::aggregated(&defs, false), true);
        }
        ["apis"] => return json_response(200, &resources::group_list(&defs)),
        ["api", v] => {
            return resources::resource_list(&defs, "", v)
                .map_or_else(not_found, |l| json_response(200, &l));
        }
        ["apis", g] => {
            return resources::group(&defs, g).map_or_else(not_found, |l| json_response(200, &l));
        }
        ["apis", g, v] => {
            return resources::resource_list(&defs, g, v)
                .map_or_else(not_found, |l| json_response(200, &l));
        }
        _ => {}
    }

    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return not_found(),
    };
    let (namespace, rest) = match rest {
        // /namespaces/{ns}/{resource}/... (but /namespaces/{name}/status is the Namespace's).
        ["namespaces", ns, r, more @ ..]
            if !(more.is_empty() && matches!(*r, "status" | "finalize")) =>
        {
            (Some(ns.to_string()), {
                let mut v = vec![*r];
                v.extend_from_slice(more);
                v
            })
        }
        other => (None, other.to_vec()),
    };
    let Some(plural) = rest.first() else {
        return not_found();
    };
    let Some(def) = store.def(group, version, plural) else {
        return not_found();
    };
    if def.namespaced != namespace.is_some() && rest.len() > 1 {
        return not_found();
    }
    let target = Target {
        def,
        namespace,
        name: rest.get(1).map(|s| s.to_string()),
        subresource: rest.get(2).map(|s| s.to_string()),
    };
    if rest.len() > 3 {
        return not_found();
    }
    let query = parse_query(&uri);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let metadata_only = accept.contains("as=PartialObjectMetadata");
    match serve(
        &app,
        &method,
        target,
        &query,
        content_type,
        &body,
        metadata_only,
    )
    .await
    {
        Ok(r) => r,
        Err(e) => error(e),
    }
}

fn discovery_response(body: Value, aggregated: bool) -> Response {
    let mut r = json_response(200, &body);
    if aggregated {
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
                .parse()
                .unwrap(),
        );
    }
    r
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body of the request was in an unknown format: {e}"
        ))
    })
}

fn partial_metadata(o: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]})
}

async fn serve(
    app: &Arc<AppState>,
    method: &Method,
    t: Target,
    query: &HashMap<String, String>,
    content_type: &str,
    body: &Bytes,
    metadata_only: bool,
) -> Result<Response, ApiError> {
    let store = &app.store;
    let ns = t.namespace.as_deref().unwrap_or("");
    let status_only = match t.subresource.as_deref() {
        None => false,
        Some("status") if t.def.status => true,
        Some("log") if t.def.plural == "pods" && t.def.group.is_empty() => {
            return pod_log(store, &t, query);
        }
        Some(_) => return Ok(not_found()),
    };
    // Objects come shared from the store; a response serializes them without a copy.
    let respond = |code: u16, o: Arc<Value>| {
        if metadata_only {
            Ok(json_response(code, &partial_metadata(&o)))
        } else {
            Ok(json_response(code, &o))
        }
    };
    match (method.clone(), t.name.as_deref()) {
        (Method::GET, Some(name)) => respond(200, store.get_shared(&t.def, ns, name)?),
        (Method::GET, None) => {
            let labels =
                LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))
                    .map_err(ApiError::bad_request)?;
            let fields =
                FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str))
                    .map_err(ApiError::bad_request)?;
            let namespace = t.namespace.as_deref();
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
                let rv = query
                    .get("resourceVersion")
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|v| *v > 0);
                let timeout = query
                    .get("timeoutSeconds")
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(1800);
                return watch(
                    store,
                    &t.def,
                    namespace,
                    rv,
                    labels,
                    fields,
                    Duration::from_secs(timeout),
                );
            }
            let (items, rv) = store.list(&t.def, namespace, |o| {
                labels.matches(o) && fields.matches(o)
            });
            let items: Vec<Value> = if metadata_only {
                items.iter().map(partial_metadata).collect()
            } else {
                items
            };
            let kind = if metadata_only {
                "PartialObjectMetadataList".to_string()
            } else {
                format!("{}List", t.def.kind)
            };
            let api_version = if metadata_only {
                "meta.k8s.io/v1".to_string()
            } else {
                t.def.api_version()
            };
            Ok(json_response(
                200,
                &json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
            ))
        }
        (Method::POST, None) => {
            let body = parse_body(body)?;
            respond(201, store.create(&t.def, ns, body)?)
        }
        (Method::PUT, Some(name)) => {
            let body = parse_body(body)?;
            if body["metadata"]["name"].as_str().is_some_and(|n| n != name) {
                return Err(ApiError::bad_request(
                    "the name of the object does not match the name on the URL",
                ));
            }
            respond(200, store.replace(&t.def, ns, name, body, status_only)?)
        }
        (Method::PATCH, Some(name)) => {
            let kind = match content_type.split(';').next().unwrap_or("").trim() {
                "application/apply-patch+yaml" => PatchType::Apply,
                "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                    PatchType::Merge
                }
                "application/json-patch+json" => PatchType::Json,
                other => {
                    return Err(ApiError::new(
                        415,
                        "UnsupportedMediaType",
                        format!(
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {other:?})"
                        ),
                    ));
                }
            };
            let body = parse_body(body)?;
            if kind == PatchType::Apply {
                if query.get("fieldManager").is_none_or(String::is_empty) {
                    return Err(ApiError::bad_request(
                        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
                    ));
                }
                let (o, created) = store.apply(&t.def, ns, name, body, status_only)?;
                return respond(if created { 201 } else { 200 }, o);
            }
            respond(200, store.patch(&t.def, ns, name, kind, body, status_only)?)
        }
        (Method::DELETE, Some(name)) => match store.delete(&t.def, ns, name)? {
            Some(pending) => respond(200, Arc::new(pending)),
            None => Ok(json_response(
                200,
                &json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "group": t.def.group, "kind": t.def.plural},
                }),
            )),
        },
        _ => Err(ApiError::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource ({method})"),
        )),
    }
}

fn pod_log(
    store: &Arc<Store>,
    t: &Target,
    query: &HashMap<String, String>,
) -> Result<Response, ApiError> {
    let ns = t.namespace.clone().unwrap_or_default();
    let name = t.name.clone().unwrap_or_default();
    let pod = store.get(&t.def, &ns, &name)?;
    let container = query
        .get("container")
        .cloned()
        .or_else(|| {
            pod["spec"]["containers"][0]["name"]
                .as_str()
                .map(String::from)
        })
        .unwrap_or_default();
    let previous = query.get("previous").is_some_and(|p| p == "true");
    let log = {
        let st = store.state.lock().unwrap();
        st.logs
            .get(&(ns, name.clone(), container.clone(), previous))
            .cloned()
    };
    let Some(log) = log else {
        let what = if previous {
            "previous terminated container"
        } else {
            "container"
        };
        return Err(ApiError::bad_request(format!(
            "{what} \"{container}\" in pod \"{name}\" not found"
        )));
    };
    let tail = query.get("tailLines").and_then(|n| n.parse::<usize>().ok());
    let lines: Vec<&str> = log.lines().collect();
    let start = tail.map_or(0, |n| lines.len().saturating_sub(n));
    let mut text = lines[start..].join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], text).into_response())
}

fn watch_line(type_: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": type_, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn watch(
    store: &Arc<Store>,
    def: &ResourceDef,
    namespace: Option<&str>,
    rv: Option<u64>,
    labels: LabelSelector,
    fields: FieldSelector,
    timeout: Duration,
) -> Result<Response, ApiError> {
    let (replay, mut rx) = match store.watch(def, namespace, rv) {
        Ok(w) => w,
        // A too-old resourceVersion is reported inside the stream, as the real server does.
        Err(e) if e.code == 410 => {
            let body = watch_line("ERROR", &e.status());
            return Ok(Response::builder()
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body))
                .unwrap());
        }
        Err(e) => return Err(e),
    };
    let def = def.clone();
    let namespace = namespace.map(String::from);
    let wanted = move |c: &Change| {
        c.resource.group == def.group
            && c.resource.plural == def.plural
            && namespace.as_deref().is_none_or(|ns| ns == c.namespace)
            && labels.matches(&c.object)
            && fields.matches(&c.object)
    };
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    tokio::spawn(async move {
        for c in replay.iter().filter(|c| wanted(c)) {
            if tx
                .send(Ok(watch_line(c.type_.word(), &c.object)))
                .await
                .is_err()
            {
                return;
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = tx.closed() => return,
                change = rx.recv() => match change {
                    Ok(c) if wanted(&c) => {
                        if tx.send(Ok(watch_line(c.type_.word(), &c.object))).await.is_err() {
                            return;
                        }
                    }
                    Ok(_) => {}
                    // Lagged or closed: end the stream; the client re-lists and watches again.
                    Err(_) => return,
                },
            }
        }
    });
    let stream = futures::stream::unfold(body_rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(Response::builder()
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .unwrap())
}
