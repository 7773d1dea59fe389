//! The part of a case's state that outlives the case: the recorder and the cubes to
//! clean up. The runner keeps it when it cancels a case; the case's context and the
//! typed client's recording proxy both send through its recorder.

use std::sync::{Arc, Mutex};

use crate::exchange::Req;
use crate::recorder::Recorder;

/// A cube the case registered, to unload afterwards.
#[derive(Debug, Clone)]
pub(crate) struct OwnedCube {
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) loaded: bool,
}

/// The part of a case's state the runner keeps when the case itself is cancelled.
pub struct CaseShared {
    /// The recorder.
    pub recorder: Recorder,
    cubes: Mutex<Vec<OwnedCube>>,
}

impl CaseShared {
    /// Shares a recorder.
    pub fn new(recorder: Recorder) -> Arc<CaseShared> {
        Arc::new(CaseShared {
            recorder,
            cubes: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn cubes(&self) -> std::sync::MutexGuard<'_, Vec<OwnedCube>> {
        self.cubes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Empties and unloads every cube the case registered and did not unload; best
    /// effort, each step recorded as cleanup.
    pub async fn cleanup(&self) {
        self.recorder.start_cleanup();
        let cubes: Vec<OwnedCube> = self.cubes().iter().filter(|c| c.loaded).cloned().collect();
        for cube in cubes {
            self.recorder
                .send(
                    Req::delete(&["memories", &cube.id])
                        .query("user_id", &cube.user)
                        .label("cleanup: delete the cube's memories"),
                )
                .await;
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
    }
}
