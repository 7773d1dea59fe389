//! The part of a case's state that outlives the case: the recorder and the cubes to
//! clean up. The runner keeps it when it cancels a case; the case's context and the
//! typed client's recording proxy both send through its recorder.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::exchange::Req;
use crate::listing::cube_memories;
use crate::recorder::Recorder;

/// A cube the case registered, to unload afterwards.
#[derive(Debug, Clone)]
pub(crate) struct OwnedCube {
    pub(crate) id: String,
    pub(crate) user: String,
    /// The `--cube-path` it was registered from.
    pub(crate) path: String,
    pub(crate) loaded: bool,
    /// Listed empty (or only the run's memories) right after it was registered, so
    /// what it holds now was added by the run: only then does cleanup delete memories.
    pub(crate) proved: bool,
    /// How many memories it listed when it was proved: what earlier cases of the run left
    /// in storage that outlives its cubes.
    pub(crate) inherited: usize,
}

/// The ids of the memories the run's cases left in cubes proved to be the run's own.
///
/// Where cubes registered from one directory share its storage and a single delete
/// does not delete (`general_text` refuses it, `tree_text` ignores it), what a case
/// added outlives the case: the next case's cube from the same directory lists it. The
/// storage proof takes these ids as the run's own, so the run goes on without ever
/// taking someone else's memory for its own.
#[derive(Debug, Default)]
pub struct RunMemories {
    ids: Mutex<HashSet<String>>,
    /// The server refused a single delete (general_text always does): later cleanups
    /// do not send them again.
    single_deletes_refused: AtomicBool,
}

impl RunMemories {
    /// Notes memories listed in a proved cube.
    pub(crate) fn note(&self, ids: impl IntoIterator<Item = String>) {
        let mut set = self.ids.lock().unwrap_or_else(|e| e.into_inner());
        set.extend(ids.into_iter().filter(|id| !id.is_empty()));
    }

    /// Every id noted so far.
    pub(crate) fn all(&self) -> HashSet<String> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many memories the run left behind at most (those it noted).
    pub(crate) fn count(&self) -> usize {
        self.ids.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// The part of a case's state the runner keeps when the case itself is cancelled.
pub struct CaseShared {
    /// The recorder.
    pub recorder: Recorder,
    /// `--destructive`: cleanup may empty a proved cube with one delete-all.
    delete_all: bool,
    cubes: Mutex<Vec<OwnedCube>>,
    /// `(cube id, user id)` of each `/product` cube the case wrote to: cleanup deletes
    /// what each lists.
    product_cubes: Mutex<Vec<(String, String)>>,
    /// What the run's cases left behind (cleanup notes what it lists).
    run_memories: Arc<RunMemories>,
}

impl CaseShared {
    /// Shares a recorder; `delete_all` is `--destructive`.
    pub fn new(
        recorder: Recorder,
        delete_all: bool,
        run_memories: Arc<RunMemories>,
    ) -> Arc<CaseShared> {
        Arc::new(CaseShared {
            recorder,
            delete_all,
            cubes: Mutex::new(Vec::new()),
            product_cubes: Mutex::new(Vec::new()),
            run_memories,
        })
    }

    pub(crate) fn cubes(&self) -> std::sync::MutexGuard<'_, Vec<OwnedCube>> {
        self.cubes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Notes a `/product` cube of the case's namespace that the case writes to (once).
    pub(crate) fn track_product_cube(&self, cube: &str, user: &str) {
        let mut cubes = self.product_cubes.lock().unwrap_or_else(|e| e.into_inner());
        if !cubes.iter().any(|(c, _)| c == cube) {
            cubes.push((cube.to_owned(), user.to_owned()));
        }
    }

    /// Unloads every cube the case registered and did not unload, after deleting what
    /// the case added to the cubes proved to be its own; best effort, each step recorded
    /// as cleanup. A cube that was not proved keeps its memories: they may not be ours.
    pub async fn cleanup(&self) {
        self.recorder.start_cleanup();
        let cubes: Vec<OwnedCube> = self.cubes().iter().filter(|c| c.loaded).cloned().collect();
        for cube in cubes {
            if cube.proved {
                self.delete_memories(&cube).await;
            }
            self.recorder
                .send(
                    Req::delete(&["mem_cubes", &cube.id])
                        .query("user_id", &cube.user)
                        .label("cleanup: unregister the cube"),
                )
                .await;
            for c in self.cubes().iter_mut().filter(|c| c.id == cube.id) {
                c.loaded = false;
            }
        }
        let product_cubes =
            std::mem::take(&mut *self.product_cubes.lock().unwrap_or_else(|e| e.into_inner()));
        for (cube, user) in product_cubes {
            crate::product::cleanup::empty_cube(&self.recorder, &cube, &user).await;
        }
    }

    /// Empties a proved cube: one delete-all with `--destructive` (it empties the
    /// storage every cube of the directory shares), else each listed memory by id.
    async fn delete_memories(&self, cube: &OwnedCube) {
        if self.delete_all {
            self.recorder
                .send(
                    Req::delete(&["memories", &cube.id])
                        .query("user_id", &cube.user)
                        .label("cleanup: delete the cube's memories"),
                )
                .await;
            return;
        }
        let listing = self
            .recorder
            .send(
                Req::get(&["memories"])
                    .query("mem_cube_id", &cube.id)
                    .query("user_id", &cube.user)
                    .label("cleanup: list what the case added"),
            )
            .await;
        let Some(memories) = listing
            .json()
            .filter(|_| listing.status().is_some_and(|s| (200..300).contains(&s)))
            .and_then(|body| cube_memories(&body, &cube.id).ok())
        else {
            return;
        };
        // On storage that outlives the cube these may stay; they are still the run's.
        self.run_memories
            .note(memories.iter().map(|m| m.id.clone()));
        if self
            .run_memories
            .single_deletes_refused
            .load(Ordering::Relaxed)
        {
            return;
        }
        for memory in memories.iter().filter(|m| !m.id.is_empty()) {
            let deleted = self
                .recorder
                .send(
                    Req::delete(&["memories", &cube.id, &memory.id])
                        .query("user_id", &cube.user)
                        .label("cleanup: delete a memory the case added"),
                )
                .await;
            if deleted.status().is_some_and(|s| (400..500).contains(&s)) {
                // The server refuses single deletes (general_text always does): one
                // refusal in the report says it, the others would only repeat it.
                self.run_memories
                    .single_deletes_refused
                    .store(true, Ordering::Relaxed);
                break;
            }
        }
    }
}
