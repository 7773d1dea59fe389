//! What a case works with: its namespace, the run's settings, the recorder, helpers for
//! the setup every stateful case needs, and cleanup of what it created.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::backend::{Backend, BackendSource};
use crate::backend_probe;
use crate::case_state::{CaseShared, OwnedCube, RunMemories};
use crate::check::{describe_outcome, describe_request, message_of};
use crate::exchange::Req;
use crate::listing::cube_memories;
pub use crate::listing::Listed;
use crate::proxy::Proxy;
use crate::recorder::Exchange;
use crate::report::Finding;
use crate::storage_proof;

/// How a case ends early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// The server did not do what the case requires.
    Fail(String),
    /// The run was not given what the case needs (a flag or a directory).
    Skip(String),
    /// The case does not apply to this server (e.g. auth probes without auth).
    NotApplicable(String),
}

/// How a case ends normally.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Everything held.
    Pass,
    /// A security finding: reported, not a failure.
    Warning(Finding),
}

/// A case's result.
pub type CaseResult = Result<Verdict, Stop>;

/// Fails with a message.
pub fn fail<T>(message: impl Into<String>) -> Result<T, Stop> {
    Err(Stop::Fail(message.into()))
}

/// A security finding: what was found, its risk and fix in one line each, and what the
/// probe saw.
pub fn warning(title: &str, risk: &str, fix: &str, evidence: String) -> CaseResult {
    Ok(Verdict::Warning(Finding {
        title: title.to_owned(),
        risk: risk.to_owned(),
        fix: fix.to_owned(),
        evidence,
    }))
}

/// Why delete-all needs `--destructive`.
pub const DELETE_ALL_NEEDS: &str =
    "deletes all of a cube's memories, which empties the storage every cube \
     registered from the same directory shares";

/// What a run gives its cases.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The prefix of every user and cube the run creates.
    pub run_prefix: String,
    /// Server-side cube directories (`--cube-path`).
    pub cube_paths: Vec<String>,
    /// A server-side directory of documents (`--doc-path`).
    pub doc_path: Option<String>,
    /// The body for `/configure` (`--configure-body`).
    pub configure_body: Option<Value>,
    /// `--allow-configure`.
    pub allow_configure: bool,
    /// `--destructive`.
    pub destructive: bool,
}

/// The `info` key of `/openapi.json` under which a server lists patches it runs with that
/// its upstream does not ship: `memos-reference-server --pgvector-caster` writes
/// `["pgvector-caster"]` there. A report names them, since a defect a patch hides then
/// shows as fixed.
pub const PATCHES_KEY: &str = "x-memos-reference-server-patches";

/// What cases of one run share.
#[derive(Debug, Default)]
pub struct RunShared {
    /// `info.title info.version` of the server's `/openapi.json`, once read.
    pub server_version: Mutex<Option<String>>,
    /// The patches the server's `/openapi.json` says it runs with (see [`PATCHES_KEY`]).
    pub server_patches: Mutex<Vec<String>>,
    /// Why the run must stop: `--cube-path` is not storage of the run's own.
    pub storage_not_own: Mutex<Option<String>>,
    /// The server's backend and how the run learned it, once known.
    pub backend: Mutex<Option<(Backend, BackendSource)>>,
    /// What the run's cases left in storage of the run's own.
    pub memories: Arc<RunMemories>,
}

impl RunShared {
    /// Shared state of a run that knows its backend already (`--backend`, the mock).
    pub fn knowing(backend: Option<(Backend, BackendSource)>) -> RunShared {
        RunShared {
            backend: Mutex::new(backend),
            ..RunShared::default()
        }
    }

    /// The backend and how it was learned, once known.
    pub fn backend(&self) -> Option<(Backend, BackendSource)> {
        self.backend
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Notes what the run learned, unless it knew already.
    fn learn_backend(&self, learned: (Backend, BackendSource)) {
        let mut known = self.backend.lock().unwrap_or_else(|e| e.into_inner());
        if known.is_none() {
            *known = Some(learned);
        }
    }

    /// Stops the run: the storage of `--cube-path` is not the run's own.
    fn stop_for_storage(&self, message: &str) {
        *self
            .storage_not_own
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(message.to_owned());
    }

    /// Why the run must stop, if the storage proof found others' memories.
    pub fn storage_not_own(&self) -> Option<String> {
        self.storage_not_own
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The context of one running case.
pub struct Ctx {
    shared: Arc<CaseShared>,
    run: Arc<RunShared>,
    settings: Arc<Settings>,
    namespace: String,
    proxy: Option<Proxy>,
}

impl Ctx {
    /// A context for the case named `case`.
    pub fn new(
        case: &str,
        shared: Arc<CaseShared>,
        run: Arc<RunShared>,
        settings: Arc<Settings>,
    ) -> Ctx {
        let namespace = namespace(&settings.run_prefix, case);
        Ctx {
            shared,
            run,
            settings,
            namespace,
            proxy: None,
        }
    }

    /// The run's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The case's namespace: every user and cube id it creates starts with it.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// A user id in the namespace.
    pub fn user(&self, name: &str) -> String {
        format!("{}-{name}", self.namespace)
    }

    /// A cube id in the namespace.
    pub fn cube(&self, name: &str) -> String {
        format!("{}-cube-{name}", self.namespace)
    }

    /// Records what the server says its version is.
    pub fn set_server_version(&self, version: String) {
        *self
            .run
            .server_version
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(version);
    }

    /// Records the patches the server says it runs with.
    pub fn set_server_patches(&self, patches: Vec<String>) {
        *self
            .run
            .server_patches
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = patches;
    }

    /// The configured credential's scheme.
    pub fn credential_scheme(&self) -> Option<memos_api::AuthScheme> {
        self.shared
            .recorder
            .transport()
            .credentials()
            .map(memos_api::Auth::scheme)
    }

    /// Notes a `/product` cube of the namespace the case writes to, so that cleanup
    /// deletes what it holds.
    pub fn track_product_cube(&self, cube: &str, user: &str) {
        self.shared.track_product_cube(cube, user);
    }

    /// Every exchange of the case so far.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.recorder.exchanges()
    }

    /// Sends a request and records it.
    pub async fn send(&self, req: Req) -> Exchange {
        self.shared.recorder.send(req).await
    }

    /// The first `--cube-path`, or a skip saying it is needed.
    pub fn cube_path(&self) -> Result<String, Stop> {
        self.settings.cube_paths.first().cloned().ok_or_else(|| {
            Stop::Skip(
                "needs a cube directory that exists on the server: pass --cube-path DIR".into(),
            )
        })
    }

    /// The server's backend, once the run knows it.
    pub fn backend(&self) -> Option<Backend> {
        self.run.backend().map(|(b, _)| b)
    }

    /// The `--cube-path` a new cube of the case is registered from. On a backend whose
    /// cubes share their directory's storage, each cube the case holds at once comes
    /// from a directory of its own, or the case cannot keep them apart and is skipped;
    /// otherwise (and before the backend is known) it is the first one.
    pub fn cube_path_for_new_cube(&self) -> Result<String, Stop> {
        let first = self.cube_path()?;
        let Some(backend) = self.backend().filter(|b| b.shares_directory_storage()) else {
            return Ok(first);
        };
        let in_use: Vec<String> = self
            .shared
            .cubes()
            .iter()
            .filter(|c| c.loaded)
            .map(|c| c.path.clone())
            .collect();
        let paths = &self.settings.cube_paths;
        paths
            .iter()
            .find(|p| !in_use.contains(p))
            .cloned()
            .ok_or_else(|| {
                Stop::Skip(format!(
                    "needs one more scratch --cube-path ({} given): on {backend} every cube registered \
                     from a directory uses that directory's storage, so this case's cubes would not be \
                     apart; pass --cube-path again with another empty scratch directory",
                    paths.len()
                ))
            })
    }

    /// `--doc-path`, or a skip saying it is needed.
    pub fn doc_path(&self) -> Result<String, Stop> {
        self.settings.doc_path.clone().ok_or_else(|| {
            Stop::Skip(
                "needs a server-side directory holding documents: pass --doc-path DIR".into(),
            )
        })
    }

    /// Stops with a skip unless `--allow-configure` was given.
    pub fn require_allow_configure(&self) -> Result<(), Stop> {
        if self.settings.allow_configure {
            Ok(())
        } else {
            Err(Stop::Skip(
                "calls POST /configure, which changes the whole server: pass --allow-configure"
                    .into(),
            ))
        }
    }

    /// Stops with a skip unless `--destructive` was given.
    pub fn require_destructive(&self) -> Result<(), Stop> {
        if self.settings.destructive {
            Ok(())
        } else {
            Err(Stop::Skip(
                "changes server state outside the run's own users and cubes: pass --destructive"
                    .into(),
            ))
        }
    }

    /// Stops with a skip unless `--destructive` was given; `what` says what the case
    /// does that needs it.
    pub fn require_destructive_for(&self, what: &str) -> Result<(), Stop> {
        if self.settings.destructive {
            Ok(())
        } else {
            Err(Stop::Skip(format!(
                "{what}: pass --destructive, with a scratch --cube-path"
            )))
        }
    }

    /// Creates a user in the namespace (role `USER`); fails unless the server confirms it.
    pub async fn create_user(&self, name: &str) -> Result<String, Stop> {
        let id = self.user(name);
        let ex = self
            .send(
                Req::post(&["users"])
                    .json(json!({"user_id": id, "role": "USER"}))
                    .label(format!("setup: create user {name}")),
            )
            .await;
        let body = ex.expect_success()?;
        if body.pointer("/data/user_id").and_then(Value::as_str) != Some(id.as_str()) {
            return fail(format!(
                "setup: POST /users did not confirm the new user {id}: data is {}",
                body.get("data").cloned().unwrap_or(Value::Null)
            ));
        }
        Ok(id)
    }

    /// Registers a cube in the namespace for `user` from a `--cube-path` (see
    /// [`Ctx::cube_path_for_new_cube`]) and proves its storage is the run's own.
    pub async fn register_cube(&self, user: &str, name: &str) -> Result<String, Stop> {
        let path = self.cube_path_for_new_cube()?;
        let id = self.cube(name);
        let ex = self
            .send(
                Req::post(&["mem_cubes"])
                    .json(
                        json!({"mem_cube_name_or_path": path, "mem_cube_id": id, "user_id": user}),
                    )
                    .label(format!("setup: register cube {name}")),
            )
            .await;
        if let Some(message) = ex.message() {
            self.refuse_storage_in_use(&path, &message)?;
        }
        ex.expect_success()?;
        self.track_cube_from(&id, user, &path);
        self.prove_storage(user, &id).await?;
        Ok(id)
    }

    /// A registration refused because another cube holds the directory's storage
    /// (`general_text`'s embedded Qdrant: "Storage folder … is already accessed by
    /// another instance of Qdrant client") means the directory is in use: nothing was
    /// registered, and the whole run stops before it touches that storage. `Ok` for any
    /// other refusal.
    pub fn refuse_storage_in_use(&self, path: &str, message: &str) -> Result<(), Stop> {
        if !message.contains(STORAGE_LOCKED) {
            return Ok(());
        }
        let own = self
            .shared
            .cubes()
            .iter()
            .any(|c| c.loaded && c.path == path);
        if own {
            // This case holds the lock itself: a fault of the case, not of the directory.
            return fail(format!(
                "registering a second cube from --cube-path {path} while the case holds one was refused: {message}"
            ));
        }
        let stop = format!(
            "stopped: the cube directory --cube-path {path} is in use: registering a cube from it was \
             refused because another cube holds its storage (\"{}\"). Cubes registered from one directory \
             share its storage, so the suite registered nothing there, added and deleted nothing, and ran \
             no further cases. Pass an empty scratch directory as --cube-path",
            memos_text::one_line(message, 300)
        );
        self.run.stop_for_storage(&stop);
        fail(stop)
    }

    /// Proves that the cube `id`, just registered for `user` from `--cube-path`, uses
    /// storage of the run's own (see [`crate::storage_proof`]); until it is proved the
    /// case must not add, change or delete anything in it. Foreign memories stop the
    /// whole run.
    pub async fn prove_storage(&self, user: &str, id: &str) -> Result<(), Stop> {
        if self.shared.cubes().iter().any(|c| c.id == id && c.proved) {
            return Ok(());
        }
        let cube_path = self
            .shared
            .cubes()
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.path.clone())
            .map_or_else(|| self.cube_path(), Ok)?;
        let answer = self.list_unrecorded(user, id).await;
        let prefix = &self.settings.run_prefix;
        // What earlier cases of the run left in storage of the run's own.
        let mut own = self.run.memories.all();
        let mut verdict = storage_proof::judge(answer.clone(), id, &cube_path, prefix, &own);
        if matches!(verdict, storage_proof::Verdict::Foreign(_)) {
            // Shared storage shows what the case added to its proved cubes in the new one.
            let proved = self.proved_memory_ids().await;
            if !proved.is_empty() {
                own.extend(proved);
                verdict = storage_proof::judge(answer.clone(), id, &cube_path, prefix, &own);
            }
        }
        match verdict {
            storage_proof::Verdict::Own => {
                let inherited = answer
                    .as_ref()
                    .ok()
                    .and_then(|(_, body)| cube_memories(body, id).ok())
                    .map_or(0, |m| m.len());
                for c in self.shared.cubes().iter_mut().filter(|c| c.id == id) {
                    c.proved = true;
                    c.inherited = inherited;
                }
                if let Ok((_, body)) = &answer {
                    self.learn_backend(user, id, body).await;
                }
                Ok(())
            }
            storage_proof::Verdict::Foreign(message) => {
                self.run.stop_for_storage(&message);
                fail(message)
            }
            storage_proof::Verdict::Unproved(message) => fail(message),
        }
    }

    /// Learns the backend from the run's first proved cube, unless the run knows it: its
    /// listing `body`, else a read-only GET of an id it does not hold (see
    /// [`crate::backend_probe`]).
    async fn learn_backend(&self, user: &str, cube: &str, body: &Value) {
        if self.run.backend().is_some() {
            return;
        }
        let learned = match backend_probe::from_listing(body, cube) {
            Some(found) => Some(found),
            None => {
                let answer = self
                    .send_unrecorded(
                        &backend_probe::unknown_id_request(user, cube),
                        backend_probe::PROBE_STEP,
                    )
                    .await;
                backend_probe::from_unknown_id(answer)
            }
        };
        if let Some((backend, how)) = learned {
            self.run
                .learn_backend((backend, BackendSource::Detected(how)));
        }
    }

    /// Lists a cube outside the case's steps (for the storage proof).
    async fn list_unrecorded(&self, user: &str, cube: &str) -> Result<(u16, Value), String> {
        self.send_unrecorded(
            &storage_proof::request(user, cube),
            storage_proof::PROOF_STEP,
        )
        .await
    }

    /// Sends `req` outside the case's steps, tagged `step`: the status and the body as
    /// JSON (null when it is not).
    pub(crate) async fn send_unrecorded(
        &self,
        req: &Req,
        step: &str,
    ) -> Result<(u16, Value), String> {
        self.shared
            .recorder
            .send_unrecorded(req, step)
            .await
            .map(|r| {
                let body = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                (r.status, body)
            })
    }

    /// The ids of the memories in the cubes the case proved and still has loaded.
    async fn proved_memory_ids(&self) -> HashSet<String> {
        let proved: Vec<OwnedCube> = self
            .shared
            .cubes()
            .iter()
            .filter(|c| c.proved && c.loaded)
            .cloned()
            .collect();
        let mut ids = HashSet::new();
        for cube in proved {
            if let Ok((status, body)) = self.list_unrecorded(&cube.user, &cube.id).await {
                if (200..300).contains(&status) {
                    if let Ok(memories) = cube_memories(&body, &cube.id) {
                        ids.extend(memories.into_iter().map(|m| m.id));
                    }
                }
            }
        }
        ids.remove("");
        ids
    }

    /// Remembers a cube registered by the case from the first `--cube-path`, to clean
    /// it up.
    pub fn track_cube(&self, id: &str, user: &str) {
        let first = self
            .settings
            .cube_paths
            .first()
            .cloned()
            .unwrap_or_default();
        self.track_cube_from(id, user, &first);
    }

    /// Remembers a cube registered by the case from `path`, to clean it up.
    pub fn track_cube_from(&self, id: &str, user: &str, path: &str) {
        let mut cubes = self.shared.cubes();
        if !cubes.iter().any(|c| c.id == id) {
            cubes.push(OwnedCube {
                id: id.to_owned(),
                user: user.to_owned(),
                path: path.to_owned(),
                loaded: true,
                proved: false,
                inherited: 0,
            });
        }
    }

    /// Notes that a cube was unloaded by the case itself.
    pub fn forget_cube(&self, id: &str) {
        for c in self.shared.cubes().iter_mut().filter(|c| c.id == id) {
            c.loaded = false;
        }
    }

    /// Notes that every cube was unloaded (after `/configure`).
    pub fn forget_all_cubes(&self) {
        for c in self.shared.cubes().iter_mut() {
            c.loaded = false;
        }
    }

    /// A user with one cube: `(user, cube)`.
    pub async fn user_with_cube(&self, name: &str) -> Result<(String, String), Stop> {
        let user = self.create_user(name).await?;
        let cube = self.register_cube(&user, name).await?;
        Ok((user, cube))
    }

    /// Adds `text` as `memory_content`.
    pub async fn add_content(&self, user: &str, cube: &str, text: &str) -> Result<(), Stop> {
        let ex = self
            .send(
                Req::post(&["memories"])
                    .json(json!({"user_id": user, "mem_cube_id": cube, "memory_content": text}))
                    .label("setup: add a memory"),
            )
            .await;
        ex.expect_success().map(drop)
    }

    /// Lists a cube's memories, failing unless the server answers with them.
    pub async fn list(&self, user: &str, cube: &str, label: &str) -> Result<Vec<Listed>, Stop> {
        let ex = self
            .send(
                Req::get(&["memories"])
                    .query("mem_cube_id", cube)
                    .query("user_id", user)
                    .label(label),
            )
            .await;
        let body = ex.expect_success()?;
        let listed = listed_memories(&ex, &body, cube)?;
        if self.is_proved(cube) {
            self.run.memories.note(listed.iter().map(|m| m.id.clone()));
        }
        Ok(listed)
    }

    /// Whether `cube` is a cube of the case proved to be the run's own.
    fn is_proved(&self, cube: &str) -> bool {
        self.shared.cubes().iter().any(|c| c.id == cube && c.proved)
    }

    /// Stops with a skip when `cube` came with memories earlier cases of the run left in
    /// its storage: a search ranks all of them, so whether it finds the case's own memory
    /// says nothing about the server.
    pub fn require_no_leftovers(&self, cube: &str) -> Result<(), Stop> {
        let inherited = self
            .shared
            .cubes()
            .iter()
            .find(|c| c.id == cube)
            .map_or(0, |c| c.inherited);
        if inherited == 0 {
            return Ok(());
        }
        let backend = self.backend().unwrap_or_default();
        Err(Stop::Skip(format!(
            "the search ranks every memory in the cube's storage, which holds {inherited} memories \
             earlier cases of this run left there ({backend} keeps them: a single DELETE does not \
             delete and the storage outlives the cube): pass --destructive, whose cleanup empties the \
             run's scratch storage after each case"
        )))
    }

    /// Before the case unregisters its proved `cube` itself: on a backend whose storage
    /// outlives the registration, notes what the cube holds as the run's own, since
    /// cleanup cannot list (nor delete from) a cube that is no longer loaded and the
    /// next cube registered from the directory will list it.
    pub async fn remember_before_unregister(&self, user: &str, cube: &str) {
        if !self
            .backend()
            .is_some_and(Backend::shares_directory_storage)
            || !self.is_proved(cube)
        {
            return;
        }
        if let Ok((status, body)) = self.list_unrecorded(user, cube).await {
            if (200..300).contains(&status) {
                if let Ok(memories) = cube_memories(&body, cube) {
                    self.run.memories.note(memories.into_iter().map(|m| m.id));
                }
            }
        }
    }

    /// The memos-api client, sending through a local recording proxy so its exchanges
    /// are checked and snapshotted like the others. Built with the run's credential.
    pub async fn typed_client(&mut self) -> Result<memos_api::v1::Client, Stop> {
        if self.proxy.is_none() {
            let proxy = Proxy::start(self.shared.clone())
                .await
                .map_err(|e| Stop::Fail(format!("cannot start the recording proxy: {e}")))?;
            self.proxy = Some(proxy);
        }
        let url = self.proxy.as_ref().map(Proxy::base_url).unwrap_or_default();
        let credentials = self.shared.recorder.transport().credentials().cloned();
        memos_api::v1::Client::builder(url)
            .auth(credentials)
            .timeout(self.shared.recorder.transport().timeout())
            .retry_policy(memos_api::RetryPolicy::none())
            .build()
            .map_err(|e| Stop::Fail(format!("cannot build the memos-api client: {e}")))
    }
}

/// What `general_text`'s embedded Qdrant answers when another cube holds the
/// directory's storage.
const STORAGE_LOCKED: &str = "already accessed by another instance of Qdrant client";

/// `<prefix>-<case name>`.
pub fn namespace(run_prefix: &str, case: &str) -> String {
    format!("{run_prefix}-{case}")
}

/// The memories of `cube` in a `GET /memories` or `/search` answer, in either shape.
pub fn listed_memories(ex: &Exchange, body: &Value, cube: &str) -> Result<Vec<Listed>, Stop> {
    cube_memories(body, cube).map_err(|e| Stop::Fail(format!("{}: {e}", ex.name())))
}

impl Exchange {
    /// `POST /memories`, or the template of a path with parameters.
    pub fn name(&self) -> String {
        describe_request(self.operation, &self.sent)
    }

    /// The status, when there was an answer.
    pub fn status(&self) -> Option<u16> {
        self.outcome.as_ref().ok().map(|r| r.status)
    }

    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<Value> {
        self.outcome
            .as_ref()
            .ok()
            .and_then(|r| serde_json::from_slice(&r.body).ok())
    }

    /// The error message of the answer (envelope `message` or `detail`).
    pub fn message(&self) -> Option<String> {
        self.outcome.as_ref().ok().and_then(|r| message_of(&r.body))
    }

    /// A success status with a JSON body, which is returned.
    pub fn expect_success(&self) -> Result<Value, Stop> {
        match self.status() {
            Some(s) if (200..300).contains(&s) => self.json().ok_or_else(|| {
                Stop::Fail(format!(
                    "{} answered {s} with a body that is not JSON",
                    self.name()
                ))
            }),
            _ => fail(format!(
                "{} answered {}; expected a success",
                self.name(),
                describe_outcome(&self.outcome)
            )),
        }
    }

    /// A 4xx: an error path must be refused by the client-error class, never succeed
    /// and never fail as a server error. (That its body is documented is checked for
    /// every exchange.)
    pub fn expect_client_error(&self) -> Result<(), Stop> {
        match self.status() {
            Some(s) if (400..500).contains(&s) => Ok(()),
            Some(s) if (200..300).contains(&s) => fail(format!(
                "{} succeeded ({}); expected a 4xx refusal",
                self.name(),
                describe_outcome(&self.outcome)
            )),
            _ => fail(format!(
                "{} answered {}; expected a 4xx refusal",
                self.name(),
                describe_outcome(&self.outcome)
            )),
        }
    }
}
