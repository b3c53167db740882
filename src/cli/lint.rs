//! `kindling lint [PATH|-]...`: prints one line per object (and its problems), a summary,
//! and fails (exit 1) when anything is invalid.

use super::Context;
use super::args::LintArgs;
use crate::error::Result;
use crate::lint::{self, ObjectReport, SchemaStore, Status};
use crate::report::ReporterExt;

pub(super) fn run(ctx: &Context, args: LintArgs) -> Result<()> {
    let explicit = args.schemas.is_some() || ctx.env.get(lint::SCHEMAS_ENV).is_some();
    let dir = if explicit {
        lint::schemas_dir(args.schemas.as_deref(), &ctx.env, std::path::Path::new(""))
    } else {
        lint::schemas_dir(None, &ctx.env, &ctx.settings()?.cache_dir)
    };
    // A folder the user named must exist (a typo would skip every custom resource); the
    // download cache may not exist yet, and core objects are checked all the same.
    let missing = !explicit && !dir.is_dir();
    let store = if missing {
        // With --output json stdout holds the report alone: "schemas": null says it there.
        if !ctx.json() {
            ctx.reporter.warn(
            format!(
                "no CRD schemas in {} yet: custom resources are skipped, core objects are checked",
                dir.display()
            ),
            Some("`kindling up` fills the download cache; or pass --schemas DIR (a folder of CRDs)".into()),
        );
        }
        SchemaStore::default()
    } else {
        SchemaStore::load(&dir)?
    };
    let report = lint::lint_paths(
        &args.paths,
        &mut std::io::stdin().lock(),
        &store,
        args.strict,
    )?;
    if ctx.json() {
        let value = serde_json::json!({
            "valid": report.count(Status::Invalid) == 0,
            "schemas": (!missing).then_some(&dir),
            "warnings": report.warnings(),
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
            "{} object(s): {} valid, {} invalid, {} skipped, {} warning(s) (schemas: {}, {} CRD versions)",
            report.objects.len(),
            report.count(Status::Valid),
            report.count(Status::Invalid),
            report.count(Status::Skipped),
            report.warnings(),
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
    for w in &o.warnings {
        println!("    warning: {w}");
    }
}
