//! `memos-reference-server`: installs (if needed) and runs the reference MemOS server
//! with its fake LLM until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{CommandFactory as _, Parser as _};
use memos_refserver::{
    ensure_venv_for, Api, InstallAction, InstallOptions, ReferenceServer, StartOptions, PATCHES_KEY,
};

mod cli;

use cli::Args;

fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(shell) = args.completions {
        let mut command = Args::command();
        clap_complete::generate(
            shell,
            &mut command,
            "memos-reference-server",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not build the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if args.pgvector_caster && args.api != Api::Product {
        anyhow::bail!(
            "--pgvector-caster patches the /product server only; add --api product, or drop it"
        );
    }
    let install = InstallOptions {
        venv_dir: args.venv.clone(),
        python: args.python.clone(),
    };
    if args.install_only {
        eprintln!(
            "Installing the reference server's venv (a cold install takes a minute or two) ..."
        );
        let api = args.api;
        let report = tokio::task::spawn_blocking(move || ensure_venv_for(api, &install))
            .await
            .context("the install thread failed")??;
        let what = match report.action {
            InstallAction::Reused => "already installed, reused",
            InstallAction::Rebuilt => "rebuilt from the lock",
            InstallAction::Created => "created",
        };
        println!(
            "Venv {} ({what}) in {:.1} s",
            report.venv.dir().display(),
            report.duration.as_secs_f64()
        );
        let variable = match api {
            Api::V1 => memos_refserver::venv::VENV_ENV,
            Api::Product => memos_refserver::venv::PRODUCT_VENV_ENV,
        };
        println!("{variable}={}", report.venv.dir().display());
        println!("MEMOS_INSTALL_SECONDS={:.1}", report.duration.as_secs_f64());
        return Ok(());
    }

    eprintln!("Starting the reference MemOS server (installs its venv first if needed) ...");
    let options = StartOptions {
        port: args.port,
        startup_timeout: Duration::from_secs(args.startup_timeout),
        cube_count: args.cubes,
        configure: true,
        install,
        backend: args.backend,
        api: args.api,
        pgvector_caster: args.pgvector_caster,
    };
    let server = ReferenceServer::start(options).await?;
    print_summary(&server, args.api, args.pgvector_caster);

    let reason = wait_for_stop(&server).await?;
    eprintln!("{reason}; stopping ...");
    server.stop();
    eprintln!("Stopped.");
    Ok(())
}

fn print_summary(server: &ReferenceServer, api: Api, pgvector_caster: bool) {
    let t = server.timings();
    match api {
        Api::V1 => {
            println!(
                "MemOS reference server is running at {} (cube storage: {})",
                server.base_url(),
                server.backend()
            );
            println!(
                "  configured as user `root` with the fake LLM at {}",
                server.fake_llm_url()
            );
        }
        Api::Product => {
            println!(
                "MemOS reference server (/product API, MemoryOS 2.0.33) is running at {} \
                 (memories in a private PostgreSQL)",
                server.base_url()
            );
            println!(
                "  configured by environment with the fake LLM at {}",
                server.fake_llm_url()
            );
            if pgvector_caster {
                println!(
                    "  PATCHED with --pgvector-caster: search works, which it does not in \
                     MemoryOS 2.0.33 as shipped; /openapi.json lists the patch under \
                     info.{PATCHES_KEY}, and reports of runs against it name it"
                );
            } else {
                println!(
                    "  as upstream ships it (search finds nothing on PostgreSQL: a known defect)"
                );
            }
        }
    }
    println!(
        "  start took {:.1} s (install check {:.1} s, database {:.1} s, uvicorn up {:.1} s, configure {:.2} s)",
        t.total.as_secs_f64(),
        t.install.as_secs_f64(),
        t.database.as_secs_f64(),
        t.spawn_to_ready.as_secs_f64(),
        t.configure.as_secs_f64()
    );
    if api == Api::V1 {
        println!("  cube directories (register with POST /mem_cubes):");
        for dir in server.cube_dirs() {
            println!("    {}", dir.display());
        }
    }
    if let Some(db) = server.database() {
        println!(
            "  database (password authentication; the password is in the file): \
             PGPASSFILE={} {} -h 127.0.0.1 -p {} -U {} {}",
            db.passfile().display(),
            db.bin_dir().join("psql").display(),
            db.port(),
            db.user(),
            db.name()
        );
    }
    println!("  log: {}", server.server_log().display());
    println!("  press Ctrl-C to stop");
    println!("MEMOS_BASE_URL={}", server.base_url());
    println!("MEMOS_API={}", api.as_str());
    if api == Api::V1 {
        println!("MEMOS_BACKEND={}", server.backend());
    }
    println!("MEMOS_FAKE_LLM_URL={}", server.fake_llm_url());
    for (i, dir) in server.cube_dirs().iter().enumerate() {
        println!("MEMOS_CUBE_DIR_{i}={}", dir.display());
    }
    println!("MEMOS_DOCS_DIR={}", server.docs_dir().display());
    println!("MEMOS_EMPTY_DIR={}", server.empty_dir().display());
    println!("MEMOS_TEMP_ROOT={}", server.temp_root().display());
    println!("MEMOS_SERVER_LOG={}", server.server_log().display());
    println!("MEMOS_SERVER_PID={}", server.pid());
    if let Some(db) = server.database() {
        println!("MEMOS_POSTGRES_PORT={}", db.port());
        println!("MEMOS_POSTGRES_PASSFILE={}", db.passfile().display());
    }
    println!("MEMOS_READY=1");
}

/// Waits for Ctrl-C, SIGTERM, or the server dying on its own.
async fn wait_for_stop(server: &ReferenceServer) -> anyhow::Result<String> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        #[cfg(unix)]
        let term_recv = term.recv();
        #[cfg(not(unix))]
        let term_recv = std::future::pending::<Option<()>>();
        tokio::select! {
            r = tokio::signal::ctrl_c() => {
                r.context("waiting for Ctrl-C")?;
                return Ok("Ctrl-C received".into());
            }
            _ = term_recv => return Ok("SIGTERM received".into()),
            _ = tick.tick() => {
                if let Some(status) = server.exit_status() {
                    anyhow::bail!(
                        "the MemOS server exited on its own ({status}); last log lines:\n{}",
                        server.log_tail(40)
                    );
                }
            }
        }
    }
}
