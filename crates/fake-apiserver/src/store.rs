//! The object store behind the fake: every write goes through `commit`, which bumps the global
//! resourceVersion, keeps a bounded history for watches that resume, and broadcasts the change.

use crate::resources::{self, ResourceDef};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

const HISTORY: usize = 50_000;

/// An error as the real API server reports it (rendered as a `Status` object).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.code, self.reason, self.message)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            reason,
            message: message.into(),
        }
    }
    pub fn not_found(def: &ResourceDef, name: &str) -> ApiError {
        ApiError::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.qualified()),
        )
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "BadRequest", message)
    }
    pub fn invalid(kind: &str, name: &str, cause: &str) -> ApiError {
        ApiError::new(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: {cause}"),
        )
    }
    /// The `Status` body.
    pub fn status(&self) -> Value {
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code,
        })
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;

/// Live changes for one watch.
pub type Receiver = broadcast::Receiver<Arc<Change>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub fn word(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One committed change, as watches and `Fake::subscribe` see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub type_: ChangeType,
    pub resource: ResourceDef,
    pub namespace: String,
    pub name: String,
    /// Shared with the store (objects are never changed in place, only replaced).
    pub object: Arc<Value>,
    pub resource_version: u64,
}

impl Change {
    pub fn kind(&self) -> &str {
        &self.resource.kind
    }
}

/// (group, plural, namespace or "", name)
type Key = (String, String, String, String);

/// Which kind of write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Apply,
    Merge,
    Json,
}

pub(crate) struct State {
    pub defs: Vec<ResourceDef>,
    /// Shared, not copied, with watch events and responses: CRDs are megabytes.
    objects: BTreeMap<Key, Arc<Value>>,
    rv: u64,
    uid: u64,
    history: VecDeque<Arc<Change>>,
    pub logs: HashMap<(String, String, String, bool), String>,
}

/// An admission check run before every create and update of a main resource (not status):
/// (resource, namespace, object, is create) → allowed, or the error the server answers.
pub type Admission = Arc<dyn Fn(&ResourceDef, &str, &Value, bool) -> Result<()> + Send + Sync>;

pub struct Store {
    pub(crate) state: Mutex<State>,
    pub(crate) tx: broadcast::Sender<Arc<Change>>,
    crd_delay: Duration,
    discovery_delay: Duration,
    pub(crate) admission: std::sync::RwLock<Option<Admission>>,
}

fn key(def: &ResourceDef, ns: &str, name: &str) -> Key {
    let ns = if def.namespaced { ns } else { "" };
    (
        def.group.clone(),
        def.plural.clone(),
        ns.to_string(),
        name.to_string(),
    )
}

/// "2026-11-26T04:01:26Z" without a date crate (civil-from-days, Howard Hinnant).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86400), secs.rem_euclid(86400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Whether two objects are equal apart from the top-level keys in `skip` (no copies: CRDs
/// are large).
fn equal_ignoring(a: &Value, b: &Value, skip: &[&str]) -> bool {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => a
            .keys()
            .chain(b.keys())
            .filter(|k| !skip.contains(&k.as_str()))
            .all(|k| a.get(k) == b.get(k)),
        _ => a == b,
    }
}

/// A change of anything but metadata and status bumps metadata.generation.
fn spec_changed(new: &Value, old: &Value) -> bool {
    !equal_ignoring(new, old, &["metadata", "status"])
}

/// A write that changes nothing but resourceVersion and managedFields is a no-op.
fn unchanged(new: &Value, old: &Value) -> bool {
    equal_ignoring(new, old, &["metadata"])
        && equal_ignoring(
            &new["metadata"],
            &old["metadata"],
            &["resourceVersion", "managedFields"],
        )
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.' || c == ':'
        })
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

impl Store {
    /// `crd_delay`: how long after its write a CRD is Established; `discovery_delay`: how
    /// much later still discovery serves its kinds (the real server lags a moment there too).
    pub fn new(crd_delay: Duration, discovery_delay: Duration) -> Arc<Store> {
        let (tx, _) = broadcast::channel(16_384);
        let store = Arc::new(Store {
            state: Mutex::new(State {
                defs: resources::builtin(),
                objects: BTreeMap::new(),
                rv: 1,
                uid: 0,
                history: VecDeque::new(),
                logs: HashMap::new(),
            }),
            tx,
            crd_delay,
            discovery_delay,
            admission: Default::default(),
        });
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            store.create_namespace(ns);
        }
        store
    }

    pub fn create_namespace(self: &Arc<Self>, name: &str) {
        let def = self.def_by_kind("v1", "Namespace").unwrap();
        let _ = self.create(
            &def,
            "",
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        );
    }

    /// The latest committed resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.lock().unwrap().rv
    }

    pub fn defs(&self) -> Vec<ResourceDef> {
        self.state.lock().unwrap().defs.clone()
    }

    pub fn def(&self, group: &str, version: &str, plural: &str) -> Option<ResourceDef> {
        let st = self.state.lock().unwrap();
        st.defs
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
            .cloned()
    }

    pub fn def_by_kind(&self, api_version: &str, kind: &str) -> Option<ResourceDef> {
        let st = self.state.lock().unwrap();
        st.defs
            .iter()
            .find(|d| d.api_version() == api_version && d.kind == kind)
            .cloned()
    }

    pub fn get(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Value> {
        self.get_shared(def, ns, name).map(Arc::unwrap_or_clone)
    }

    /// The stored object without copying it (as served at `def`'s version).
    pub fn get_shared(&self, def: &ResourceDef, ns: &str, name: &str) -> Result<Arc<Value>> {
        let st = self.state.lock().unwrap();
        st.objects
            .get(&key(def, ns, name))
            .map(|o| served(o, def))
            .ok_or_else(|| ApiError::not_found(def, name))
    }

    /// Objects of one resource (in `ns`, or all namespaces), with the current resourceVersion.
    pub fn list(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        filter: impl Fn(&Value) -> bool,
    ) -> (Vec<Value>, u64) {
        let st = self.state.lock().unwrap();
        let items = st
            .objects
            .iter()
            .filter(|((g, p, n, _), _)| {
                *g == def.group && *p == def.plural && ns.is_none_or(|ns| ns == n)
            })
            .map(|(_, o)| o)
            .filter(|o| filter(o))
            .map(|o| with_version(Value::clone(o), def))
            .collect();
        (items, st.rv)
    }

    /// A watch starting after `rv` (None: from the current state, sent as ADDED events).
    /// Returns the events to send first and the live receiver, taken under one lock.
    pub fn watch(
        &self,
        def: &ResourceDef,
        ns: Option<&str>,
        rv: Option<u64>,
    ) -> Result<(Vec<Arc<Change>>, Receiver)> {
        let st = self.state.lock().unwrap();
        let rx = self.tx.subscribe();
        let same = |c: &Change| {
            c.resource.group == def.group
                && c.resource.plural == def.plural
                && ns.is_none_or(|ns| ns == c.namespace)
        };
        let replay = match rv {
            Some(rv) => {
                if rv + 1 < st.history.front().map_or(rv + 1, |c| c.resource_version) {
                    return Err(ApiError::new(
                        410,
                        "Expired",
                        format!("too old resource version: {rv}"),
                    ));
                }
                st.history
                    .iter()
                    .filter(|c| c.resource_version > rv && same(c))
                    .cloned()
                    .collect()
            }
            None => st
                .objects
                .iter()
                .filter(|((g, p, n, _), _)| {
                    *g == def.group && *p == def.plural && ns.is_none_or(|ns| ns == n)
                })
                .map(|((_, _, n, name), o)| {
                    Arc::new(Change {
                        type_: ChangeType::Added,
                        resource: def.clone(),
                        namespace: n.clone(),
                        name: name.clone(),
                        object: served(o, def),
                        resource_version: st.rv,
                    })
                })
                .collect(),
        };
        Ok((replay, rx))
    }

    fn commit(
        &self,
        st: &mut State,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        type_: ChangeType,
        mut object: Value,
    ) -> Arc<Value> {
        st.rv += 1;
        object["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        let object = Arc::new(object);
        let k = key(def, ns, name);
        if type_ == ChangeType::Deleted {
            st.objects.remove(&k);
        } else {
            st.objects.insert(k.clone(), object.clone());
        }
        let change = Arc::new(Change {
            type_,
            resource: def.clone(),
            namespace: k.2,
            name: name.to_string(),
            object: served(&object, def),
            resource_version: st.rv,
        });
        st.history.push_back(change.clone());
        if st.history.len() > HISTORY {
            st.history.pop_front();
        }
        let _ = self.tx.send(change);
        object
    }

    /// Fills and checks apiVersion, kind, namespace and name of a body sent for `def`.
    fn check_body(st: &State, def: &ResourceDef, ns: &str, body: &mut Value) -> Result<String> {
        if !body.is_object() {
            return Err(ApiError::bad_request("the body must be a JSON object"));
        }
        let api_version = def.api_version();
        match body["apiVersion"].as_str() {
            None | Some("") => body["apiVersion"] = json!(api_version),
            Some(v) if v == api_version => {}
            Some(v) if def.group == super::store::group_of(v) => {}
            Some(v) => {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({api_version})"
                )));
            }
        }
        match body["kind"].as_str() {
            None | Some("") => body["kind"] = json!(def.kind),
            Some(k) if k == def.kind => {}
            Some(k) => {
                return Err(ApiError::bad_request(format!(
                    "the kind in the data ({k}) does not match the expected kind ({})",
                    def.kind
                )));
            }
        }
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        if def.namespaced {
            match body["metadata"]["namespace"].as_str() {
                None | Some("") => body["metadata"]["namespace"] = json!(ns),
                Some(n) if n == ns => {}
                Some(_) => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
            }
            let ns_key = (
                String::new(),
                "namespaces".to_string(),
                String::new(),
                ns.to_string(),
            );
            if !st.objects.contains_key(&ns_key) {
                return Err(ApiError::new(
                    404,
                    "NotFound",
                    format!("namespaces \"{ns}\" not found"),
                ));
            }
        } else if let Some(m) = body["metadata"].as_object_mut() {
            // The real server drops a namespace sent for a cluster-scoped object.
            m.remove("namespace");
        }
        let name = body["metadata"]["name"].as_str().unwrap_or("").to_string();
        if name.is_empty() {
            return Err(ApiError::invalid(
                &def.kind,
                "",
                "metadata.name: Required value: name or generateName is required",
            ));
        }
        if !valid_name(&name) {
            return Err(ApiError::invalid(
                &def.kind,
                &name,
                &format!(
                    "metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
                ),
            ));
        }
        Ok(name)
    }

    /// Runs the admission check (outside the state lock: the check may read the store).
    fn admit(&self, def: &ResourceDef, ns: &str, object: &Value, create: bool) -> Result<()> {
        let check = self.admission.read().unwrap().clone();
        match check {
            Some(check) => check(def, ns, object, create),
            None => Ok(()),
        }
    }

    pub fn create(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        mut body: Value,
    ) -> Result<Arc<Value>> {
        self.admit(def, ns, &body, true)?;
        let mut st = self.state.lock().unwrap();
        if body["metadata"]["name"].as_str().is_none_or(str::is_empty)
            && let Some(prefix) = body["metadata"]["generateName"].as_str()
        {
            st.uid += 1;
            body["metadata"]["name"] = json!(format!("{prefix}{:05x}", st.uid * 7919 % 0xfffff));
        }
        let name = Self::check_body(&st, def, ns, &mut body)?;
        if st.objects.contains_key(&key(def, ns, &name)) {
            return Err(ApiError::new(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", def.qualified()),
            ));
        }
        if def.status
            && let Some(m) = body.as_object_mut()
        {
            m.remove("status");
        }
        if def.group.is_empty() && def.kind == "Namespace" {
            body["status"] = json!({"phase": "Active"});
            // The API server labels every namespace with its name (since 1.22).
            let name = body["metadata"]["name"].clone();
            body["metadata"]["labels"]["kubernetes.io/metadata.name"] = name;
        }
        // Without a configured delay a CRD is Established in the same write (one copy of a
        // large object less; the real server sets it a moment later).
        if is_crd(def) && self.crd_delay.is_zero() {
            if self.discovery_delay.is_zero() {
                st.defs.retain(|d| !same_resource(d, &body));
                st.defs.extend(resources::from_crd(&body));
            }
            body["status"] = established_status(&body);
        } else if is_crd(def) {
            // Before Established, a real server shows the storage version and no accepted
            // names yet (apiextensions strategy PrepareForCreate).
            body["status"] = json!({
                "acceptedNames": {"kind": "", "plural": ""},
                "storedVersions": established_status(&body)["storedVersions"],
            });
        }
        st.uid += 1;
        let meta = &mut body["metadata"];
        meta["uid"] = json!(format!("00000000-0000-4000-8000-{:012x}", st.uid));
        meta["creationTimestamp"] = json!(now_rfc3339());
        meta["generation"] = json!(1);
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("managedFields");
        }
        let created = self.commit(&mut st, def, ns, &name, ChangeType::Added, body);
        drop(st);
        self.after_write(def, &created);
        Ok(served(&created, def))
    }

    /// Server-side apply: create, or merge the applied configuration into the object.
    /// Returns the object and whether it was created.
    pub fn apply(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut patch: Value,
        status_only: bool,
    ) -> Result<(Arc<Value>, bool)> {
        if patch["apiVersion"].as_str().is_none_or(str::is_empty)
            || patch["kind"].as_str().is_none_or(str::is_empty)
        {
            return Err(ApiError::bad_request(
                "apiVersion and kind must be set in an apply patch",
            ));
        }
        if let Some(n) = patch["metadata"]["name"].as_str()
            && n != name
        {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        patch["metadata"]["name"] = json!(name);
        let existing = self.get_shared(def, ns, name);
        match existing {
            Err(_) if status_only => Err(ApiError::not_found(def, name)),
            Err(_) => self.create(def, ns, patch).map(|o| (o, true)),
            Ok(old) => {
                {
                    let st = self.state.lock().unwrap();
                    Self::check_body(&st, def, ns, &mut patch)?;
                }
                let mut merged = Arc::unwrap_or_clone(old);
                json_patch::merge(&mut merged, &patch);
                self.update(def, ns, name, merged, status_only, None)
                    .map(|o| (o, false))
            }
        }
    }

    /// Replaces an object (PUT). `expected_rv` enforces optimistic concurrency.
    pub fn replace(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut body: Value,
        status_only: bool,
    ) -> Result<Arc<Value>> {
        {
            let st = self.state.lock().unwrap();
            Self::check_body(&st, def, ns, &mut body)?;
        }
        let expected = body["metadata"]["resourceVersion"]
            .as_str()
            .map(String::from);
        self.update(def, ns, name, body, status_only, expected)
    }

    /// Merge or JSON patch on the current object.
    pub fn patch(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        kind: PatchType,
        patch: Value,
        status_only: bool,
    ) -> Result<Arc<Value>> {
        let mut object = self.get(def, ns, name)?;
        match kind {
            PatchType::Merge => json_patch::merge(&mut object, &patch),
            PatchType::Json => {
                let ops: json_patch::Patch = serde_json::from_value(patch)
                    .map_err(|e| ApiError::bad_request(e.to_string()))?;
                json_patch::patch(&mut object, &ops)
                    .map_err(|e| ApiError::new(422, "Invalid", e.to_string()))?;
            }
            PatchType::Apply => {
                return self
                    .apply(def, ns, name, patch, status_only)
                    .map(|(o, _)| o);
            }
        }
        self.update(def, ns, name, object, status_only, None)
    }

    /// The common update path: keeps server-owned fields, routes status, detects no-ops,
    /// bumps generation on spec changes, finishes deletions whose finalizers are gone.
    fn update(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        name: &str,
        mut new: Value,
        status_only: bool,
        expected_rv: Option<String>,
    ) -> Result<Arc<Value>> {
        if !status_only {
            self.admit(def, ns, &new, false)?;
        }
        let mut st = self.state.lock().unwrap();
        let old = st
            .objects
            .get(&key(def, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))?;
        if let Some(rv) = expected_rv
            && old["metadata"]["resourceVersion"].as_str() != Some(rv.as_str())
        {
            return Err(ApiError::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    def.qualified()
                ),
            ));
        }
        if status_only {
            let status = new["status"].take();
            new = Value::clone(&old);
            new["status"] = status;
        } else if def.status {
            new["status"] = old["status"].clone();
        }
        if new["status"].is_null()
            && let Some(m) = new.as_object_mut()
        {
            m.remove("status");
        }
        for field in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "generation",
        ] {
            match &old["metadata"][field] {
                Value::Null => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(field);
                    }
                }
                v => new["metadata"][field] = v.clone(),
            }
        }
        if spec_changed(&new, &old) {
            new["metadata"]["generation"] =
                json!(old["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
        }
        if unchanged(&new, &old) {
            return Ok(served(&old, def));
        }
        let finalized = !new["metadata"]["deletionTimestamp"].is_null()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        if finalized {
            let gone = self.commit(&mut st, def, ns, name, ChangeType::Deleted, new);
            self.cascade(&mut st, &gone);
            return Ok(served(&gone, def));
        }
        let updated = self.commit(&mut st, def, ns, name, ChangeType::Modified, new);
        drop(st);
        self.after_write(def, &updated);
        Ok(served(&updated, def))
    }

    /// Deletes (immediately, or marks it when it has finalizers). Dependents (by
    /// ownerReferences) and a namespace's contents go with it, as the garbage collector would.
    /// Returns the object when deletion is pending, else None.
    pub fn delete(
        self: &Arc<Self>,
        def: &ResourceDef,
        ns: &str,
        name: &str,
    ) -> Result<Option<Value>> {
        let mut st = self.state.lock().unwrap();
        let mut old = st
            .objects
            .get(&key(def, ns, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(def, name))?;
        if old["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            if old["metadata"]["deletionTimestamp"].is_null() {
                let mut marked = Value::clone(&old);
                marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
                old = self.commit(&mut st, def, ns, name, ChangeType::Modified, marked);
            }
            return Ok(Some(with_version(Value::clone(&old), def)));
        }
        let gone = self.commit(
            &mut st,
            def,
            ns,
            name,
            ChangeType::Deleted,
            Arc::unwrap_or_clone(old),
        );
        self.cascade(&mut st, &gone);
        Ok(None)
    }

    fn cascade(&self, st: &mut State, gone: &Value) {
        let uid = gone["metadata"]["uid"].as_str().unwrap_or("").to_string();
        let namespace = (gone["kind"] == "Namespace" && gone["apiVersion"] == "v1")
            .then(|| gone["metadata"]["name"].as_str().unwrap_or("").to_string());
        let doomed: Vec<(Key, Arc<Value>)> = st
            .objects
            .iter()
            .filter(|((_, _, n, _), o)| {
                namespace.as_deref() == Some(n.as_str())
                    || o["metadata"]["ownerReferences"]
                        .as_array()
                        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid.as_str()))
            })
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for ((group, plural, ns, name), o) in doomed {
            let Some(def) = st
                .defs
                .iter()
                .find(|d| d.group == group && d.plural == plural)
                .cloned()
            else {
                continue;
            };
            if st
                .objects
                .contains_key(&(group, plural, ns.clone(), name.clone()))
            {
                let gone = self.commit(
                    st,
                    &def,
                    &ns,
                    &name,
                    ChangeType::Deleted,
                    Arc::unwrap_or_clone(o),
                );
                self.cascade(st, &gone);
            }
        }
    }

    /// A CRD write registers its kinds and (now or after the configured delay) sets
    /// Established, as the real apiextensions controller does.
    fn after_write(self: &Arc<Self>, def: &ResourceDef, object: &Value) {
        if !is_crd(def) {
            return;
        }
        let established = object["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
        let fresh = resources::from_crd(object);
        let known = {
            let st = self.state.lock().unwrap();
            fresh.iter().all(|d| st.defs.contains(d))
        };
        if established && known {
            return;
        }
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let store = self.clone();
        let delay = self.crd_delay + self.discovery_delay;
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if !delay.is_zero() => {
                rt.spawn(async move {
                    tokio::time::sleep(delay).await;
                    store.establish(&name);
                });
            }
            _ => store.establish(&name),
        }
    }

    /// Registers a CRD's kinds and marks it NamesAccepted + Established.
    pub fn establish(self: &Arc<Self>, crd_name: &str) {
        let Some(def) = self.def_by_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        else {
            return;
        };
        let Ok(crd) = self.get(&def, "", crd_name) else {
            return;
        };
        {
            let mut st = self.state.lock().unwrap();
            let fresh = resources::from_crd(&crd);
            st.defs.retain(|d| {
                !(d.group == crd["spec"]["group"].as_str().unwrap_or("")
                    && d.plural == crd["spec"]["names"]["plural"].as_str().unwrap_or(""))
            });
            st.defs.extend(fresh);
        }
        let now = now_rfc3339();
        let versions: Vec<Value> = crd["spec"]["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["storage"] == true)
            .map(|v| v["name"].clone())
            .collect();
        let status = json!({
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
            ],
            "acceptedNames": crd["spec"]["names"],
            "storedVersions": versions,
        });
        let _ = self.update(&def, "", crd_name, json!({"status": status}), true, None);
    }
}

fn is_crd(def: &ResourceDef) -> bool {
    def.group == "apiextensions.k8s.io" && def.kind == "CustomResourceDefinition"
}

/// Whether `def` is one of the kinds `crd` defines.
fn same_resource(def: &ResourceDef, crd: &Value) -> bool {
    def.group == crd["spec"]["group"].as_str().unwrap_or("")
        && def.plural == crd["spec"]["names"]["plural"].as_str().unwrap_or("")
}

/// NamesAccepted + Established, as the apiextensions controllers set them.
fn established_status(crd: &Value) -> Value {
    let now = now_rfc3339();
    let versions: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["storage"] == true)
        .map(|v| v["name"].clone())
        .collect();
    json!({
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now},
        ],
        "acceptedNames": crd["spec"]["names"],
        "storedVersions": versions,
    })
}

/// apiVersion "apps/v1" → "apps".
pub fn group_of(api_version: &str) -> &str {
    api_version.split_once('/').map_or("", |(g, _)| g)
}

/// The stored object as served at `def`'s version, copied only when the version differs.
fn served(o: &Arc<Value>, def: &ResourceDef) -> Arc<Value> {
    if o["apiVersion"] == def.api_version().as_str() {
        o.clone()
    } else {
        Arc::new(with_version(Value::clone(o), def))
    }
}

/// The object as served at `def`'s version (objects are stored once for all versions).
fn with_version(mut o: Value, def: &ResourceDef) -> Value {
    if o["apiVersion"] != def.api_version().as_str() {
        o["apiVersion"] = json!(def.api_version());
    }
    o
}
