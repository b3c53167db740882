//! `kindling lint [PATH|-]...`: prints one line per object (and its problems), a summary,
//! and fails (exit 1) when anything is invalid.

use super::Context;
use super::args::LintArgs;
use crate::error::Result;
use crate::lint::{self, ObjectReport, SchemaStore, Status};

pub(super) fn run(ctx: &Context, args: LintArgs) -> Result<()> {
    let dir = match (&args.schemas, ctx.env.get(lint::SCHEMAS_ENV)) {
        (None, None) => lint::schemas_dir(None, &ctx.env, &ctx.settings()?.cache_dir),
        (flag, _) => lint::schemas_dir(flag.as_deref(), &ctx.env, std::path::Path::new("")),
    };
    let store = SchemaStore::load(&dir)?;
    let report = lint::lint_paths(&args.paths, &mut std::io::stdin().lock(), &store)?;
    if ctx.json() {
        let value = serde_json::json!({
            "valid": report.count(Status::Invalid) == 0,
            "schemas": dir,
            "objects": report.objects,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).expect("serializes")
        );
    } else {
        for object in &report.objects {
            print_object(object);
        }
        println!(
            "{} object(s): {} valid, {} invalid, {} skipped (schemas: {}, {} CRD versions)",
            report.objects.len(),
            report.count(Status::Valid),
            report.count(Status::Invalid),
            report.count(Status::Skipped),
            dir.display(),
            store.len(),
        );
    }
    Ok(report.verdict()?)
}

fn print_object(o: &ObjectReport) {
    let place = if o.index == 0 {
        o.file.clone()
    } else {
        format!("{}#{}", o.file, o.index)
    };
    match o.status {
        Status::Valid => println!("✓ {place} {}", o.object()),
        Status::Skipped => println!("- {place} {}: {}", o.object(), o.messages.join("; ")),
        Status::Invalid => {
            println!("✗ {place} {}", o.object());
            for m in &o.messages {
                println!("    {m}");
            }
        }
    }
}
