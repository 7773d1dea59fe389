//! `memos load messages|content|docs`: validate, set up the user and cube, import, report.

use std::sync::Arc;

use memos_loader as loader;
use memos_loader::{
    Api, CancellationToken, ContentOptions, DocumentOptions, Hint, Input, LoadError, LoadOptions,
    MessageOptions, Server, Source, Summary, Target,
};
use serde_json::json;

use crate::cli::{Global, LoadArgs, LoadCommand};
use crate::exit::{self, Failure};
use crate::output;
use crate::progress::Reporter;

pub async fn run(command: LoadCommand, server: Server, global: &Global) -> Result<i32, Failure> {
    let (source, args, server_dir) = match command {
        LoadCommand::Messages {
            files,
            session_field,
            max_session_messages,
            load,
        } => (
            Some(Source::Messages {
                inputs: files.iter().map(|f| Input::from_arg(f)).collect(),
                options: MessageOptions {
                    session_field,
                    max_session_messages,
                    ..MessageOptions::default()
                },
            }),
            load,
            None,
        ),
        LoadCommand::Content {
            mut files,
            chunk_size,
            per_line,
            load,
        } => {
            if files.is_empty() {
                files.push("-".to_owned());
            }
            (
                Some(Source::Content {
                    inputs: files.iter().map(|f| Input::from_arg(f)).collect(),
                    options: ContentOptions {
                        chunk_size,
                        per_line,
                    },
                }),
                load,
                None,
            )
        }
        LoadCommand::Docs {
            paths,
            server_dir,
            chunk_size,
            follow_links,
            load,
        } => {
            let source = server_dir.is_none().then_some(Source::Documents {
                paths,
                options: DocumentOptions {
                    chunk_size,
                    follow_links,
                },
            });
            (source, load, server_dir)
        }
    };

    let reporter = Reporter::new(global.quiet);
    let cancel = CancellationToken::new();
    let options = LoadOptions {
        concurrency: args.concurrency,
        skip_invalid: args.skip_invalid,
        dry_run: args.dry_run,
        checkpoint: args.resume.clone(),
        max_consecutive_failures: args.max_failures,
        cancel: cancel.clone(),
        progress: Some(reporter.callback()),
        ..LoadOptions::default()
    };
    let target = Target {
        user_id: args.user.clone(),
        cube_id: args.cube.clone(),
    };

    let summary = match source {
        Some(source) => {
            // Validate before touching the server: invalid input changes nothing there.
            let validated = loader::validate_source(&source, &options).await;
            let validated = validated.inspect_err(|_| reporter.finish())?;
            // What the API refuses is refused before the server is touched, too.
            validated
                .check_api(server.api())
                .inspect_err(|_| reporter.finish())?;
            if !args.dry_run {
                setup(&server, &args, global)
                    .await
                    .inspect_err(|_| reporter.finish())?;
            }
            let _interrupt = watch_interrupts(cancel.clone(), reporter.clone());
            validated.send(&server, &target).await
        }
        None => {
            let dir = server_dir.unwrap_or_default();
            if server.api() == Api::Product {
                reporter.finish();
                return Err(Failure::new(
                    exit::USAGE,
                    "--server-dir cannot be used with --api product: MemoryOS 2.0.33 stores \
                     \"[File: unknown]\" for a doc_path and never reads the folder\n  hint: \
                     import the files from this machine instead: memos load docs PATH --api \
                     product",
                ));
            }
            if !args.dry_run {
                setup(&server, &args, global).await?;
            }
            loader::import_server_dir(&server, &target, &dir, &options).await
        }
    };
    reporter.finish();
    let summary = summary?;
    report(&summary, &target, &server, global, &args);
    Ok(if summary.interrupted {
        exit::INTERRUPTED
    } else if summary.dry_run || summary.is_complete() {
        exit::OK
    } else {
        exit::INCOMPLETE
    })
}

/// Creates or checks the user and cube, as `--create` asks.
async fn setup(server: &Server, args: &LoadArgs, global: &Global) -> Result<(), Failure> {
    let client = match server {
        Server::V1(client) => client,
        Server::Product(client) => {
            // One cheap request that a v1 server does not serve: a wrong --api fails here,
            // not with a 404 for every record.
            if let Err(source) = client.health_check().await {
                let hint = exit::is_missing_route(&source).then(|| {
                    Hint::Text(
                        "the server has no /product routes; if it speaks the v1 API (MemoryOS \
                         2.0.10 and older), pass --api v1"
                            .to_owned(),
                    )
                });
                return Err(Failure::from(LoadError::Setup {
                    what: "checking the server's /product API".to_owned(),
                    source: Box::new(source),
                    hint,
                }));
            }
            // The library checks the ids; there is nothing to create on this API.
            loader::verify_user(server, &args.user).await?;
            loader::verify_cube(server, &args.user, &args.cube).await?;
            if (args.create || args.cube_path.is_some()) && !global.quiet {
                crate::output::warn(
                    "memos: note: --api product has no users or cubes to create (the server \
                     takes any user id, and the first memory creates the cube); --create and \
                     --cube-path change nothing",
                );
            }
            return Ok(());
        }
    };
    setup_v1(client, args).await.map_err(|err| match err {
        // Starlette's 404 for a route the server does not have: a /product server.
        LoadError::Setup {
            what,
            source,
            hint: _,
        } if exit::is_missing_route(&source) => Failure::from(LoadError::Setup {
            what,
            source,
            hint: Some(Hint::Text(
                "the server has no such v1 route; if it is a MemOS 2.x server (the /product \
                 API), pass --api product"
                    .to_owned(),
            )),
        }),
        other => Failure::from(other),
    })
}

/// [`setup`] on the v1 API.
async fn setup_v1(client: &memos_api::v1::Client, args: &LoadArgs) -> Result<(), LoadError> {
    if args.create {
        loader::ensure_user(client, &args.user).await?;
        match &args.cube_path {
            Some(dir) => {
                loader::ensure_cube(client, &args.user, &args.cube, dir).await?;
            }
            None => loader::verify_cube(client, &args.user, &args.cube)
                .await
                .map_err(|err| match err {
                    // --create is given already: only the cube's folder is missing.
                    LoadError::Setup { what, source, .. } => LoadError::Setup {
                        what,
                        source,
                        hint: Some(Hint::Text(
                            "to register the cube, add --cube-path DIR (its folder on the \
                             server, holding config.json)"
                                .to_owned(),
                        )),
                    },
                    other => other,
                })?,
        }
    } else {
        loader::verify_user(client, &args.user).await?;
        loader::verify_cube(client, &args.user, &args.cube).await?;
    }
    Ok(())
}

/// Ctrl-C once: stop sending, finish what is in flight, save the checkpoint. Twice: quit
/// now (the checkpoint on disk is consistent at any moment).
fn watch_interrupts(
    cancel: CancellationToken,
    reporter: Arc<Reporter>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        reporter.line(
            "memos: interrupted: finishing the requests in flight and saving the checkpoint \
             (Ctrl-C again quits at once)",
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            reporter.finish();
            std::process::exit(exit::INTERRUPTED);
        }
    })
}

/// What was left out of the input on purpose: links out of a documents folder, and what
/// was appended to a file after the import started.
fn notes(out: &mut String, summary: &Summary) {
    if !summary.skipped_links.is_empty() {
        out.push_str(&format!(
            "  left out {} link(s) to files outside the folder (--follow-links reads them):\n",
            summary.skipped_links.len()
        ));
        for link in &summary.skipped_links {
            out.push_str(&format!("    {}\n", link.display()));
        }
    }
    for input in &summary.grown_inputs {
        out.push_str(&format!(
            "  {input} grew during the import: only what it held when the import started was \
             imported\n"
        ));
    }
}

/// What the records make on the server, after their count: on v1 one memory per message
/// or chunk (list backends); on `/product` a record is one add, which stores about one
/// memory per 4,000 characters, so only the messages in the records are counted.
fn what_records_make(summary: &Summary, api: Api) -> String {
    match (api, summary.kind.as_str()) {
        (Api::V1, _) => format!(" ({} memories)", summary.memories_in_input),
        (Api::Product, "messages") => format!(" ({} messages)", summary.memories_in_input),
        (Api::Product, _) => String::new(),
    }
}

/// The peak resident memory of this process (Linux), for the summary.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn report(summary: &Summary, target: &Target, server: &Server, global: &Global, args: &LoadArgs) {
    if global.json {
        let mut value = serde_json::to_value(summary).unwrap_or_else(|_| json!({}));
        if let Some(object) = value.as_object_mut() {
            object.insert("base_url".into(), json!(server.base_url()));
            object.insert("api".into(), json!(server.api()));
            object.insert("user_id".into(), json!(target.user_id));
            object.insert("cube_id".into(), json!(target.cube_id));
            object.insert("complete".into(), json!(summary.is_complete()));
            object.insert("peak_rss_bytes".into(), json!(peak_rss_bytes()));
        }
        output::print_json(&value);
        return;
    }
    if global.quiet {
        return;
    }
    let mut out = String::new();
    let made = what_records_make(summary, server.api());
    if summary.dry_run {
        out.push_str(&format!(
            "Dry run: {} valid records{made} would be imported into cube {:?} of user {:?}; nothing was sent.\n",
            summary.records_read, target.cube_id, target.user_id
        ));
        if summary.skipped > 0 {
            out.push_str(&format!(
                "  {} invalid records would be left out (listed above).\n",
                summary.skipped
            ));
        }
        notes(&mut out, summary);
        print!("{out}");
        return;
    }
    let verdict = if summary.interrupted {
        "Interrupted"
    } else if summary.is_complete() {
        "Imported"
    } else {
        "Incomplete"
    };
    out.push_str(&format!(
        "{verdict}: {} records ({}) into cube {:?} of user {:?}\n",
        summary.records_read, summary.kind, target.cube_id, target.user_id
    ));
    let rows: Vec<(&str, String)> = vec![
        ("records read", format!("{}{made}", summary.records_read)),
        ("sent", summary.records_sent.to_string()),
        ("stored", summary.records_acked.to_string()),
        ("already imported", summary.already_imported.to_string()),
        ("skipped (invalid)", summary.skipped.to_string()),
        ("failed", summary.failed.to_string()),
        ("not stored yet", summary.remaining.to_string()),
        (
            "time",
            format!(
                "{:.2} s ({:.1} records/s)",
                summary.elapsed_secs, summary.records_per_sec
            ),
        ),
    ];
    for (label, value) in rows {
        out.push_str(&format!("  {label:<18} {value}\n"));
    }
    if let Some(added) = summary.memories_added {
        out.push_str(&format!("  {:<18} {added}\n", "memories added"));
    }
    if summary.possibly_duplicated > 0 {
        out.push_str(&format!(
            "  note: {} records could not be checked against the server and were sent again; they may be duplicated\n",
            summary.possibly_duplicated
        ));
    }
    if let Some(removed) = summary
        .reconciliation
        .as_ref()
        .map(|r| r.duplicates_removed)
        .filter(|&n| n > 0)
    {
        out.push_str(&format!(
            "  note: {removed} records were stored twice (adds of a killed run that the server \
             finished late); the second copies were deleted\n"
        ));
    }
    if let Some(foreign) = summary
        .reconciliation
        .as_ref()
        .map(|r| r.foreign_markers)
        .filter(|&n| n > 0)
    {
        out.push_str(&format!(
            "  note: {foreign} memories in the cube carry this import's marker with a run its \
             checkpoint never recorded (a copy of the marker, or a run of an older memos); they \
             were left alone and not counted as stored\n"
        ));
    }
    if let Some(reason) = &summary.stopped_early {
        out.push_str(&format!("  {reason}\n"));
    }
    notes(&mut out, summary);
    if summary.remaining > 0 {
        match &args.resume {
            Some(file) => out.push_str(&format!(
                "  to send the rest, run the same command again (with --resume {})\n",
                file.display()
            )),
            None => out.push_str(
                "  to send the rest without duplicates, run again with --resume FILE next time; \
                 without it, a new run sends everything again\n",
            ),
        }
    }
    print!("{out}");
}
