//! Starting, sharing and stopping the reference server.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;

use crate::api::Api;
use crate::backend::{Backend, Storage};
use crate::cubes::{self, Layout, CONFIGURE_USER};
use crate::error::{tail_of_file, Error};
use crate::fake_llm::FakeLlm;
use crate::postgres::{Database, Password, Postgres};
use crate::private;
use crate::process::{spawn_guarded, GuardedChild};
use crate::product;
use crate::stale;
use crate::venv::{ensure_venv_for, InstallOptions, Venv};

/// The ASGI app of MemOS's v1 REST API.
pub const APP: &str = "memos.api.start_api:app";
/// Proxy for every outbound request the server might try (HuggingFace, git clone):
/// the discard port on loopback, where nothing listens, so they fail at once.
const DEAD_PROXY: &str = "http://127.0.0.1:9";
/// Lines of the server log quoted in errors.
const TAIL_LINES: usize = 40;
/// How many fresh ports to try when uvicorn finds its port taken.
const PORT_ATTEMPTS: usize = 3;

/// How to start the server. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct StartOptions {
    /// Port for uvicorn; `None` picks a free one (and retries if it gets taken).
    pub port: Option<u16>,
    /// How long to wait for `/openapi.json` (default 120 s: the first start after an
    /// install compiles MemOS's bytecode and takes much longer than the usual ~5 s).
    pub startup_timeout: Duration,
    /// Number of cube directories `cubes/cube-0..` to write (default 8).
    pub cube_count: usize,
    /// Call `POST /configure` with [`ReferenceServer::configure_body`] (default true).
    /// Without it every endpoint but `/configure` answers 400.
    pub configure: bool,
    /// Where the venv is and which Python builds it.
    pub install: InstallOptions,
    /// The storage backend of the cube directories it writes (default `naive_text`).
    /// `tree_text` also starts a private PostgreSQL, stopped and deleted with the server.
    /// Ignored for [`Api::Product`], whose memories always live in that PostgreSQL.
    pub backend: Backend,
    /// The API the server speaks (default v1). Each API has its own venv.
    pub api: Api,
    /// [`Api::Product`] only: register a psycopg2 type caster for pgvector's `vector`
    /// in the server (default false). It makes `/product/search` work on the PostgreSQL
    /// graph store, hiding a defect of the server as shipped. The patched server lists it
    /// under [`PATCHES_KEY`](crate::PATCHES_KEY) in `info` of its `/openapi.json`, where
    /// the conformance suite reads it and names it in its reports.
    pub pgvector_caster: bool,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            port: None,
            startup_timeout: Duration::from_secs(120),
            cube_count: 8,
            configure: true,
            install: InstallOptions::default(),
            backend: Backend::NaiveText,
            api: Api::V1,
            pgvector_caster: false,
        }
    }
}

/// Where the time of [`ReferenceServer::start`] went.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartTimings {
    /// Making sure the venv is installed (near zero when it is reused).
    pub install: Duration,
    /// Creating and starting the private PostgreSQL (tree_text only; zero otherwise).
    pub database: Duration,
    /// From spawning uvicorn to the first 200 from `/openapi.json`.
    pub spawn_to_ready: Duration,
    /// The `POST /configure` call.
    pub configure: Duration,
    /// The whole `start()`.
    pub total: Duration,
}

/// A running reference MemOS server with its fake LLM and a fresh temp dir.
///
/// Dropping it (or calling [`stop`](Self::stop)) kills uvicorn, stops the fake LLM and
/// removes the temp dir. On Linux uvicorn also dies with this process, even on
/// `kill -9` or a panic with `panic = "abort"`.
///
/// # Registering one cube directory several times
///
/// Checked against MemOS 2.0.10 (see `tests/reference_server.rs`): a cube directory
/// is only *read* on `POST /mem_cubes` (its `config.json`; the `naive_text` backend
/// never writes memories back), and the loaded cube is keyed by `mem_cube_id`, not
/// by path. So one directory can be registered under any number of different
/// `mem_cube_id`s, by one user or by several, and each id is an independent cube
/// with its own memories. Registering an id that is *already loaded* does not read
/// the path again; for another user it just grants access to that same cube
/// (the only working way to share). Callers therefore do not need one directory per
/// cube; the directories in [`cube_dirs`](Self::cube_dirs) are interchangeable.
#[derive(Debug)]
pub struct ReferenceServer {
    base_url: String,
    port: u16,
    // Field order matters only for clarity: `stop()` does the ordered shutdown.
    child: GuardedChild,
    postgres: Option<Postgres>,
    fake_llm: FakeLlm,
    storage: Storage,
    temp: Mutex<Option<TempDir>>,
    temp_root: PathBuf,
    layout: Layout,
    configure_body: Value,
    server_log: PathBuf,
    venv: Venv,
    timings: StartTimings,
}

impl ReferenceServer {
    /// Installs the venv if needed, starts the fake LLM and uvicorn with fresh state,
    /// waits for `/openapi.json`, calls `/configure` as `root`, and writes the cube,
    /// docs and empty directories.
    ///
    /// The returned value holds no handle to the caller's tokio runtime, so it may be
    /// used from any runtime or thread. Build your own HTTP client per runtime.
    ///
    /// Needs Python 3 (the first start installs the venv from the checked-in lock, which
    /// takes minutes; later starts reuse it).
    ///
    /// ```no_run
    /// use memos_refserver::{Api, ReferenceServer, StartOptions};
    ///
    /// # async fn demo() -> Result<(), memos_refserver::Error> {
    /// // The /product API of MemoryOS 2.0.33, on a free port of 127.0.0.1.
    /// let server = ReferenceServer::start(StartOptions {
    ///     api: Api::Product,
    ///     ..StartOptions::default()
    /// })
    /// .await?;
    /// println!("serving at {}", server.base_url());
    /// // ... send requests to server.base_url() ...
    /// server.stop();
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start(options: StartOptions) -> Result<ReferenceServer, Error> {
        let started = Instant::now();

        // pip can take minutes; keep it off the async worker threads.
        let install_opts = options.install.clone();
        let api = options.api;
        let report = tokio::task::spawn_blocking(move || ensure_venv_for(api, &install_opts))
            .await
            .map_err(|e| {
                Error::io(
                    "running the venv install",
                    PathBuf::new(),
                    std::io::Error::other(e),
                )
            })??;
        let install = report.duration;

        stale::sweep();
        let temp = stale::create_temp_dir()?;
        match Self::launch(&options, report.venv, temp.path()).await {
            Ok(mut server) => {
                server.temp = Mutex::new(Some(temp));
                server.timings.install = install;
                server.timings.total = started.elapsed();
                Ok(server)
            }
            Err(e) => {
                // Keep the temp dir so the log named in the error can be read; the
                // next start in another process sweeps it (see `stale`).
                let _ = temp.keep();
                Err(e)
            }
        }
    }

    /// Everything of `start()` that happens inside the temp dir.
    async fn launch(
        options: &StartOptions,
        venv: Venv,
        temp_root: &Path,
    ) -> Result<ReferenceServer, Error> {
        let temp_root = temp_root.to_path_buf();
        let fake_llm = FakeLlm::start()?;
        let backend = match options.api {
            Api::V1 => options.backend,
            Api::Product => Backend::TreeText,
        };
        let database_started = Instant::now();
        let postgres = if backend.needs_postgres() {
            let port =
                free_port().map_err(|e| Error::io("finding a free port", "127.0.0.1:0", e))?;
            let (venv, root) = (venv.clone(), temp_root.clone());
            let pg = tokio::task::spawn_blocking(move || Postgres::start(&venv, &root, port))
                .await
                .map_err(|e| {
                    Error::io(
                        "starting PostgreSQL",
                        PathBuf::new(),
                        std::io::Error::other(e),
                    )
                })??;
            Some(pg)
        } else {
            None
        };
        let database = database_started.elapsed();
        let storage = Storage {
            backend,
            fake_llm_url: fake_llm.url(),
            postgres: postgres.as_ref().map(|pg| pg.login().clone()),
        };
        // The product server has no cube directories to register (its register_cube is
        // a placeholder) and no /configure.
        let (cube_count, configure_body) = match options.api {
            Api::V1 => (
                options.cube_count,
                cubes::configure_body_for(&storage, CONFIGURE_USER),
            ),
            Api::Product => (0, Value::Null),
        };
        let layout = cubes::write_layout(&temp_root, &storage, cube_count)?;
        let launch = match (options.api, &storage.postgres) {
            (Api::Product, Some(login)) => {
                // It serves this directory at /download and refuses to start without it.
                let files = temp_root.join(product::FILES_DIR);
                private::create_dir_all(&files)
                    .map_err(|e| Error::io("creating the server's file directory", &files, e))?;
                let path = temp_root.join(product::LAUNCHER_FILE);
                private::write(&path, product::LAUNCHER)
                    .map_err(|e| Error::io("writing the server's launcher", &path, e))?;
                Launch::Product {
                    launcher: path,
                    env: product::environment(&storage.fake_llm_url, login, &temp_root),
                    password: login.password.clone(),
                    pgvector_caster: options.pgvector_caster,
                }
            }
            _ => Launch::V1,
        };
        let server_log = temp_root.join("server.log");

        let http = reqwest::Client::builder()
            // The server is on loopback; a proxy from the environment must not be used.
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| Error::Startup {
                detail: format!("building an HTTP client: {e}"),
                log: server_log.clone(),
                tail: String::new(),
            })?;

        let spawned = Instant::now();
        let mut attempt = 0;
        let (child, port) = loop {
            attempt += 1;
            let port = match options.port {
                Some(p) => p,
                None => {
                    free_port().map_err(|e| Error::io("finding a free port", "127.0.0.1:0", e))?
                }
            };
            let child = spawn_server(&venv, &launch, &temp_root, &server_log, port)?;
            match wait_ready(
                &http,
                &child,
                port,
                &server_log,
                spawned + options.startup_timeout,
            )
            .await
            {
                Ok(()) => break (child, port),
                Err(e) => {
                    child.stop(Duration::from_millis(500));
                    let taken =
                        tail_of_file(&server_log, TAIL_LINES).contains("address already in use");
                    if !(taken && options.port.is_none() && attempt < PORT_ATTEMPTS) {
                        return Err(e);
                    }
                }
            }
        };
        let spawn_to_ready = spawned.elapsed();
        let base_url = format!("http://127.0.0.1:{port}");

        let configured = Instant::now();
        if options.configure && options.api == Api::V1 {
            configure(&http, &base_url, &configure_body, &server_log).await?;
        }
        let configure_time = configured.elapsed();

        Ok(ReferenceServer {
            base_url,
            port,
            child,
            postgres,
            fake_llm,
            storage,
            // Set by `start()`, which owns the temp dir.
            temp: Mutex::new(None),
            temp_root,
            layout,
            configure_body,
            server_log,
            venv,
            timings: StartTimings {
                install: Duration::ZERO,
                database,
                spawn_to_ready,
                configure: configure_time,
                total: Duration::ZERO,
            },
        })
    }

    /// A process-wide server shared by all tests of one test binary.
    ///
    /// Started on first use with [`StartOptions::default`] and never dropped (statics
    /// are not); it is stopped and its temp dir removed by an `atexit` handler when
    /// the process exits normally, and uvicorn dies with the process otherwise.
    ///
    /// Runtime choice: the start runs on a throw-away runtime inside a blocking thread,
    /// and nothing long-lived uses any tokio runtime of the caller (the fake LLM has its
    /// own thread and runtime, uvicorn is a plain child process). So it is safe that each
    /// `#[tokio::test]` has its own runtime that ends with the test. Concurrent first
    /// callers wait for one start; a failed start is remembered and returned to all.
    ///
    /// Rules for sharing: use unique cube ids and users per test, and do not call
    /// `/configure` on it (that unloads every cube); use [`start`](Self::start) for that.
    pub async fn shared() -> Result<&'static ReferenceServer, Error> {
        Self::shared_for(Backend::NaiveText).await
    }

    /// Like [`shared`](Self::shared), with cube directories of `backend`: one server per
    /// backend per test binary, each started on first use.
    pub async fn shared_for(backend: Backend) -> Result<&'static ReferenceServer, Error> {
        // The error is kept as text (errors are not `Clone`) plus whether Python was missing.
        type Slot = OnceLock<Result<ReferenceServer, (String, bool)>>;
        static SHARED: [Slot; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        static AT_EXIT: std::sync::Once = std::sync::Once::new();
        extern "C" fn stop_shared_at_exit() {
            for slot in &SHARED {
                if let Some(Ok(server)) = slot.get() {
                    // Never unwind into C.
                    let _ =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| server.stop()));
                }
            }
        }
        let slot: &'static Slot = &SHARED[Backend::ALL
            .iter()
            .position(|b| *b == backend)
            .unwrap_or_default()];

        let result = match slot.get() {
            Some(r) => r,
            None => tokio::task::spawn_blocking(move || {
                slot.get_or_init(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| (format!("building a runtime: {e}"), false))?;
                    let server = runtime
                        .block_on(ReferenceServer::start(StartOptions {
                            backend,
                            ..StartOptions::default()
                        }))
                        .map_err(|e| (e.to_string(), e.is_python_missing()))?;
                    // SAFETY: registers a plain `extern "C" fn` with no captured state.
                    AT_EXIT.call_once(|| unsafe {
                        libc::atexit(stop_shared_at_exit);
                    });
                    Ok(server)
                })
            })
            .await
            .map_err(|e| Error::Shared {
                message: format!("the start-up thread failed: {e}"),
                python_missing: false,
            })?,
        };
        result
            .as_ref()
            .map_err(|(message, python_missing)| Error::Shared {
                message: message.clone(),
                python_missing: *python_missing,
            })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The port uvicorn listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cube directories `cubes/cube-0..`, each with a `config.json` for
    /// [`backend`](Self::backend) and its own storage. None is registered. See the type
    /// docs on registering one directory several times.
    pub fn cube_dirs(&self) -> &[PathBuf] {
        &self.layout.cube_dirs
    }

    /// The storage backend of the cube directories this server wrote.
    pub fn backend(&self) -> Backend {
        self.storage.backend
    }

    /// Writes a new cube directory `dir` (with `config.json` naming `user_id` and
    /// `cube_id`) for this server's backend, with storage of its own.
    pub fn write_cube_dir(&self, dir: &Path, user_id: &str, cube_id: &str) -> Result<(), Error> {
        cubes::write_cube_dir_for(&self.storage, dir, user_id, cube_id)
    }

    /// A directory with `.md` and `.txt` files (one nested) for `doc_path` tests.
    pub fn docs_dir(&self) -> &Path {
        &self.layout.docs_dir
    }

    /// An empty directory (a `doc_path` there gives 400 "scene_data is empty").
    pub fn empty_dir(&self) -> &Path {
        &self.layout.empty_dir
    }

    /// The private PostgreSQL of a `tree_text` or `/product` server (`None` for the other
    /// backends): how to connect to it, for inspection. It accepts only the password in
    /// [`Database::passfile`].
    pub fn database(&self) -> Option<&Database> {
        self.postgres.as_ref().map(Postgres::database)
    }

    /// The fake LLM, e.g. for [`FakeLlm::requests`].
    pub fn fake_llm(&self) -> &FakeLlm {
        &self.fake_llm
    }

    /// The fake LLM's OpenAI base URL, `http://127.0.0.1:PORT/v1`.
    pub fn fake_llm_url(&self) -> String {
        self.fake_llm.url()
    }

    /// The `/configure` body that was used, to configure again (e.g. after a test
    /// reconfigured the server, or with another `user_id`).
    pub fn configure_body(&self) -> &Value {
        &self.configure_body
    }

    /// The temp dir holding all state: `MEMOS_BASE_PATH`, `HOME`, the cwd of uvicorn,
    /// the cube and docs dirs and the log.
    pub fn temp_root(&self) -> &Path {
        &self.temp_root
    }

    /// The file with uvicorn's stdout and stderr (MemOS logs its errors there).
    pub fn server_log(&self) -> &Path {
        &self.server_log
    }

    /// The last `lines` lines of [`server_log`](Self::server_log).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_of_file(&self.server_log, lines)
    }

    /// The venv the server runs from.
    pub fn venv(&self) -> &Venv {
        &self.venv
    }

    /// Where the time of `start()` went.
    pub fn timings(&self) -> StartTimings {
        self.timings
    }

    /// The uvicorn process id.
    pub fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// `None` while uvicorn runs, else how it ended.
    pub fn exit_status(&self) -> Option<String> {
        self.child.exit_status()
    }

    /// Stops uvicorn (SIGTERM, then SIGKILL after 2 s), then PostgreSQL if there is one,
    /// then the fake LLM, then removes the temp dir (and with it the database).
    /// Idempotent; also done on drop.
    pub fn stop(&self) {
        self.child.stop(Duration::from_secs(2));
        if let Some(postgres) = &self.postgres {
            postgres.stop();
        }
        self.fake_llm.stop();
        let temp = self.temp.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(temp) = temp {
            // Best effort: a leftover dir is swept by the next start (see `stale`).
            let _ = temp.close();
        }
    }
}

impl Drop for ReferenceServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port that was free a moment ago (uvicorn binds it itself; see the retry above).
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// How the server process is started.
#[derive(Debug, Clone)]
enum Launch {
    /// `python -m uvicorn memos.api.start_api:app`.
    V1,
    /// `python <launcher> PORT`, configured by `env` and the database's `password`
    /// (see [`product`]).
    Product {
        launcher: PathBuf,
        env: Vec<(&'static str, String)>,
        password: Password,
        pgvector_caster: bool,
    },
}

fn spawn_server(
    venv: &Venv,
    launch: &Launch,
    temp_root: &Path,
    log: &Path,
    port: u16,
) -> Result<GuardedChild, Error> {
    let out = private::create(log).map_err(|e| Error::io("creating the server log", log, e))?;
    let err = out
        .try_clone()
        .map_err(|e| Error::io("opening the server log", log, e))?;
    let python = venv.python();
    let root = temp_root.to_path_buf();
    let launch = launch.clone();
    let bin_dir = python.parent().map(Path::to_path_buf).unwrap_or_default();
    let child = spawn_guarded(move || {
        let mut cmd = Command::new(&python);
        match &launch {
            Launch::V1 => {
                cmd.args(["-m", "uvicorn", APP, "--host", "127.0.0.1", "--port"])
                    .arg(port.to_string());
            }
            Launch::Product {
                launcher,
                pgvector_caster,
                ..
            } => {
                cmd.arg(launcher).arg(port.to_string());
                if *pgvector_caster {
                    cmd.arg("--pgvector-caster");
                }
            }
        }
        cmd.current_dir(&root)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        // Settings a developer's shell may carry that would change the server's
        // defaults or where it reaches out to.
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("MOS_") || key.starts_with("MEMOS_") || key.starts_with("OPENAI_") {
                cmd.env_remove(key.as_ref());
            }
        }
        cmd.env("MEMOS_BASE_PATH", &root)
            .env("HOME", &root)
            .env("TMPDIR", &root)
            .env("PYTHONUNBUFFERED", "1")
            // start_api runs `load_dotenv(override=True)`, which would let a `.env` in
            // any parent dir of the venv (e.g. the workspace) override our settings.
            .env("PYTHON_DOTENV_DISABLED", "1")
            .env("HF_HUB_OFFLINE", "1")
            .env("TRANSFORMERS_OFFLINE", "1")
            .env("HF_DATASETS_OFFLINE", "1");
        for proxy in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
        ] {
            cmd.env(proxy, DEAD_PROXY);
        }
        // ... except for loopback, where the fake LLM is.
        for no_proxy in ["NO_PROXY", "no_proxy"] {
            cmd.env(no_proxy, "127.0.0.1,localhost,::1");
        }
        if let Launch::Product { env, password, .. } = &launch {
            cmd.envs(env.iter().map(|(k, v)| (k, v)))
                .env(product::PASSWORD_VAR, password.expose());
            // Without Redis its scheduler routes try to spawn `redis-server` from PATH;
            // the venv's own tools are all it needs.
            cmd.env("PATH", &bin_dir);
        }
        cmd
    })
    .map_err(|e| Error::Startup {
        detail: format!("could not run {}: {e}", venv.python().display()),
        log: log.to_path_buf(),
        tail: tail_of_file(log, TAIL_LINES),
    })?;
    Ok(GuardedChild::new(child))
}

async fn wait_ready(
    http: &reqwest::Client,
    child: &GuardedChild,
    port: u16,
    log: &Path,
    deadline: Instant,
) -> Result<(), Error> {
    let url = format!("http://127.0.0.1:{port}/openapi.json");
    loop {
        if let Some(status) = child.exit_status() {
            return Err(Error::Startup {
                detail: format!(
                    "uvicorn (pid {}) exited with {status} before answering {url}",
                    child.pid()
                ),
                log: log.to_path_buf(),
                tail: tail_of_file(log, TAIL_LINES),
            });
        }
        let last = match http.get(&url).timeout(Duration::from_secs(2)).send().await {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => format!("HTTP {}", resp.status()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(Error::Startup {
                detail: format!(
                    "no 200 from {url} within the start-up timeout (last: {last}); \
                     raise StartOptions::startup_timeout if the machine is slow"
                ),
                log: log.to_path_buf(),
                tail: tail_of_file(log, TAIL_LINES),
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn configure(
    http: &reqwest::Client,
    base_url: &str,
    body: &Value,
    log: &Path,
) -> Result<(), Error> {
    let url = format!("{base_url}/configure");
    let fail = |detail: String| Error::Configure {
        url: url.clone(),
        detail,
        log: log.to_path_buf(),
        tail: tail_of_file(log, TAIL_LINES),
    };
    let resp = http
        .post(&url)
        .json(body)
        .send()
        .await
        .map_err(|e| fail(format!("request failed: {e}")))?;
    let status = resp.status();
    let text = resp
        .text()
        .await
        .map_err(|e| fail(format!("reading the answer: {e}")))?;
    let code = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("code").and_then(Value::as_i64));
    if status.as_u16() == 200 && code == Some(200) {
        Ok(())
    } else {
        Err(fail(format!("HTTP {status}: {text}")))
    }
}
