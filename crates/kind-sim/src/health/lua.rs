//! Upstream's `health.lua` checks, run in place the way Argo CD v3.5.1 runs them
//! (util/lua/lua.go `runLuaWithResourceActionParameters`, `ExecuteHealthLua`): Lua 5.1
//! semantics (Argo CD embeds gopher-lua, a Lua 5.1: scripts call `table.getn`), the standard
//! libraries a built-in script gets, `os` reduced to `time` and `date` (oslib_safe.go), the
//! object as the global `obj` (`decodeValue`: JSON null is nil, numbers are Lua numbers), a
//! one-second limit, and the returned table read as `{status, message}`.

use super::{Health, Script, Status};
use mlua::{HookTriggers, Lua, LuaOptions, StdLib, Value as LuaValue, VmState};
use serde_json::Value;
use std::time::{Duration, Instant};

/// lua.go: `context.WithTimeout(..., 1*time.Second)`.
const TIMEOUT: Duration = Duration::from_secs(1);

/// Runs a health script on `obj`. Err: the script failed (Argo CD then rates Unknown).
pub(super) fn run(script: &Script, obj: &Value) -> Result<Health, String> {
    // gopher-lua's OpenLibs for built-in scripts (lua.go: "standard libraries will be enabled
    // for all built-in scripts"); io and debug are left out: no upstream check uses them.
    let libs = StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::PACKAGE | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::default()).map_err(|e| e.to_string())?;
    let started = Instant::now();
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(10_000),
        move |_, _| {
            if started.elapsed() > TIMEOUT {
                Err(mlua::Error::RuntimeError(
                    "context deadline exceeded".into(),
                ))
            } else {
                Ok(VmState::Continue)
            }
        },
    )
    .map_err(|e| e.to_string())?;
    safe_os(&lua).map_err(|e| e.to_string())?;
    let value = to_lua(&lua, obj).map_err(|e| e.to_string())?;
    lua.globals().set("obj", value).map_err(|e| e.to_string())?;
    let name = format!("@{}", script.path.display());
    let returned: mlua::MultiValue = lua
        .load(&script.text)
        .set_name(name)
        .eval()
        .map_err(|e| first_line(&e.to_string()))?;
    // l.Get(-1): the last value the chunk returned (nil when none).
    Ok(read_result(
        returned.into_iter().last().unwrap_or(LuaValue::Nil),
    ))
}

/// oslib_safe.go: `os` offers only `time` and `date`, also through `require("os")`.
fn safe_os(lua: &Lua) -> mlua::Result<()> {
    let full: mlua::Table = lua.globals().get("os")?;
    let safe = lua.create_table()?;
    safe.set("time", full.get::<mlua::Function>("time")?)?;
    safe.set("date", full.get::<mlua::Function>("date")?)?;
    lua.globals().set("os", safe.clone())?;
    let loaded: mlua::Table = lua.globals().get::<mlua::Table>("package")?.get("loaded")?;
    loaded.set("os", safe)
}

/// lua.go removes Lua's stack trace from run errors; keep the first line.
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or("").to_string()
}

/// `decodeValue`: objects and arrays become tables, null becomes nil. gopher-lua's
/// `LTable.Append` drops nil, so an array's nulls vanish and later items move up.
fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    Ok(match v {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => LuaValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for item in items.iter().filter(|i| !i.is_null()) {
                t.raw_push(to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, item) in map {
                t.raw_set(k.as_str(), to_lua(lua, item)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// `ExecuteHealthLua`: the returned table is JSON-encoded and read as a HealthStatus. An empty
/// table (encoded as `[]`), an array or fields of the wrong type give the empty status; a
/// status outside Argo CD's codes gives Unknown "Lua returned an invalid health status"; nil
/// gives the empty status.
fn read_result(value: LuaValue) -> Health {
    let empty = Health {
        status: None,
        message: String::new(),
    };
    let LuaValue::Table(t) = value else {
        // Only nil reaches here in practice; other types are an error upstream ("expect table
        // output from Lua script"), which Argo CD also rates Unknown.
        return empty;
    };
    let has_array_part = t.raw_len() > 0;
    let mut keys = 0;
    let (mut status, mut message) = (Some(String::new()), Some(String::new()));
    for (k, v) in t.pairs::<LuaValue, LuaValue>().flatten() {
        keys += 1;
        let key = k.as_string().map(|s| s.to_string_lossy());
        let slot = match key.as_deref() {
            Some("status") => &mut status,
            Some("message") => &mut message,
            _ => continue,
        };
        *slot = match v {
            LuaValue::String(s) => Some(s.to_string_lossy()),
            LuaValue::Nil => Some(String::new()),
            _ => None,
        };
    }
    if keys == 0 || has_array_part {
        return empty;
    }
    let (Some(status), Some(message)) = (status, message) else {
        return empty;
    };
    match Status::parse(&status) {
        Some(s) => Health::new(s, message),
        None => Health::new(Status::Unknown, "Lua returned an invalid health status"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn script(text: &str) -> Script {
        Script {
            path: "test.lua".into(),
            text: text.into(),
        }
    }

    #[test]
    fn lua_5_1_table_getn_and_the_object_are_there() {
        let s = script(
            "return {status = 'Healthy', message = tostring(table.getn(obj.spec.items)) .. obj.kind}",
        );
        let h = run(&s, &json!({"kind": "X", "spec": {"items": [1, null, 3]}})).unwrap();
        assert_eq!(
            h,
            Health::new(Status::Healthy, "2X"),
            "nulls dropped, as Append does"
        );
    }

    #[test]
    fn os_offers_only_time_and_date() {
        let s = script(
            "return {status = 'Healthy', message = type(os.time) .. type(os.date) .. type(os.exit) .. type(require('os').execute)}",
        );
        let h = run(&s, &json!({})).unwrap();
        assert_eq!(h.message, "functionfunctionnilnil");
    }

    #[test]
    fn invalid_codes_empty_tables_and_errors_are_read_as_argo_cd_reads_them() {
        let h = run(&script("return {status = 'Fine'}"), &json!({})).unwrap();
        assert_eq!(
            h,
            Health::new(Status::Unknown, "Lua returned an invalid health status")
        );
        let h = run(&script("return {}"), &json!({})).unwrap();
        assert_eq!(h.status, None);
        let h = run(&script("local x = 1"), &json!({})).unwrap();
        assert_eq!(h.status, None);
        let err = run(&script("return obj.status.conditions"), &json!({})).unwrap_err();
        assert!(err.contains("attempt to index"), "{err}");
    }

    #[test]
    fn a_script_that_never_ends_is_stopped() {
        let err = run(&script("while true do end"), &json!({})).unwrap_err();
        assert!(err.contains("context deadline exceeded"), "{err}");
    }
}
