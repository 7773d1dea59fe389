//! The `/product` loader trusts only markers of its own runs: on resume, a node counts as
//! the import's own only if the run its marker names is one the checkpoint recorded, the
//! late copies deleted are only such nodes, and the copy a run had acknowledged is the one
//! kept. Anyone who reads the cube can copy a marker; such a node is never deleted, never
//! makes a record present, and is reported.
//!
//! Against a mock `/product` server (httpmock) whose cube lists the nodes each scenario
//! needs, after a first import that made the checkpoint. The checkpoint is then rewritten
//! as the runs of the scenario left it (`run-a`, `run-b`: runs it recorded).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use httpmock::{HttpMockRequest, HttpMockResponse};
use memos_api::product;
use memos_loader as loader;
use memos_loader::{LoadOptions, Summary};
use serde_json::{json, Value};

use crate::{per_line, target};

/// A mock `/product` server holding one cube: an add stores one node carrying the add's
/// marker, a delete removes nodes, and the listing answers what the cube holds.
struct Product {
    server: MockServer,
    /// The cube's nodes.
    cube: Arc<Mutex<Vec<Value>>>,
    /// The records sent (by the index in their marker).
    sent: Arc<Mutex<BTreeSet<u64>>>,
    /// The node ids deleted.
    deleted: Arc<Mutex<BTreeSet<String>>>,
}

fn answer(body: &Value) -> HttpMockResponse {
    HttpMockResponse::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(body).unwrap())
        .build()
}

impl Product {
    async fn start() -> Self {
        let server = MockServer::start_async().await;
        let cube = Arc::new(Mutex::new(Vec::new()));
        let sent = Arc::new(Mutex::new(BTreeSet::new()));
        let deleted = Arc::new(Mutex::new(BTreeSet::new()));
        let (nodes, noted) = (cube.clone(), sent.clone());
        server
            .mock_async(move |when, then| {
                when.method(POST).path("/product/add");
                then.respond_with(move |request: &HttpMockRequest| {
                    let body: Value = serde_json::from_slice(request.body_ref()).unwrap();
                    let info = body["info"].clone();
                    let index = info["memos_load_record"].as_str().unwrap();
                    noted.lock().unwrap().insert(index.parse().unwrap());
                    let mut nodes = nodes.lock().unwrap();
                    let id = format!("added-{}", nodes.len());
                    nodes.push(node(&id, info));
                    answer(
                        &json!({"code": 200, "message": "Memory added successfully", "data": []}),
                    )
                });
            })
            .await;
        let (nodes, noted) = (cube.clone(), deleted.clone());
        server
            .mock_async(move |when, then| {
                when.method(POST).path("/product/delete_memory");
                then.respond_with(move |request: &HttpMockRequest| {
                    let body: Value = serde_json::from_slice(request.body_ref()).unwrap();
                    let ids: BTreeSet<String> = body["memory_ids"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|id| id.as_str().unwrap().to_owned())
                        .collect();
                    nodes
                        .lock()
                        .unwrap()
                        .retain(|node| !ids.contains(node["id"].as_str().unwrap()));
                    noted.lock().unwrap().extend(ids);
                    answer(&json!({
                        "code": 200, "message": "Memories deleted successfully",
                        "data": {"status": "success"}
                    }))
                });
            })
            .await;
        let nodes = cube.clone();
        server
            .mock_async(move |when, then| {
                when.method(POST).path("/product/get_memory");
                then.respond_with(move |_: &HttpMockRequest| {
                    let memories = nodes.lock().unwrap().clone();
                    answer(&json!({
                        "code": 200, "message": "Memories retrieved successfully",
                        "data": {
                            "text_mem": [{"cube_id": "c", "memories": memories}],
                            "pref_mem": [], "tool_mem": [], "skill_mem": [],
                        }
                    }))
                });
            })
            .await;
        Self {
            server,
            cube,
            sent,
            deleted,
        }
    }

    fn client(&self) -> product::Client {
        product::Client::new(self.server.base_url()).unwrap()
    }

    /// From now on the cube holds `nodes` (and nothing sent so far is remembered).
    fn holds(&self, nodes: Vec<Value>) {
        *self.cube.lock().unwrap() = nodes;
        self.sent.lock().unwrap().clear();
        self.deleted.lock().unwrap().clear();
    }

    fn sent(&self) -> Vec<u64> {
        self.sent.lock().unwrap().iter().copied().collect()
    }

    fn deleted(&self) -> Vec<String> {
        self.deleted.lock().unwrap().iter().cloned().collect()
    }
}

/// A node of the cube with `info` as its marker.
fn node(id: &str, info: Value) -> Value {
    json!({"id": id, "memory": format!("text of {id}"), "metadata": {"info": info}})
}

/// A node with the marker of record `record` of import `import`, sent by run `run`.
fn marked(id: &str, import: &str, record: u64, run: &str) -> Value {
    node(
        id,
        json!({
            "memos_load_import": import,
            "memos_load_record": record.to_string(),
            "memos_load_run": run,
        }),
    )
}

/// Imports records `r0`-`r3` through `product` with a checkpoint, then rewrites it as the
/// runs `runs` (`[{"id", "acked"}]`) left it: records `acked` acknowledged, all four
/// possibly sent. Returns the import id.
async fn imported_then_killed(product: &Product, dir: &Path, acked: Value, runs: Value) -> String {
    let first = import(product, dir).await;
    assert!(first.is_complete(), "{first:?}");
    assert_eq!(product.sent(), vec![0, 1, 2, 3]);
    let path = dir.join("ck.json");
    let mut ck: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ck["acked"] = acked;
    ck["complete"] = json!(false);
    ck["sent_below"] = json!(4);
    ck["runs"] = runs;
    std::fs::write(&path, serde_json::to_vec(&ck).unwrap()).unwrap();
    ck["import_id"].as_str().unwrap().to_owned()
}

async fn import(product: &Product, dir: &Path) -> Summary {
    let path = dir.join("records.txt");
    std::fs::write(&path, "r0\nr1\nr2\nr3\n").unwrap();
    let options = LoadOptions {
        concurrency: 2,
        checkpoint: Some(dir.join("ck.json")),
        ..LoadOptions::default()
    };
    loader::import(&product.client(), &target(), &per_line(&path), &options)
        .await
        .expect("the import runs")
}

/// The nodes carrying this import's marker with a run the checkpoint does not know, as the
/// summary reports them.
fn foreign_markers(summary: &Summary) -> Value {
    serde_json::to_value(summary).unwrap()["reconciliation"]["foreign_markers"].clone()
}

/// Record 3 was acknowledged by run `run-a`, whose node the cube holds, next to a copy of
/// the marker with `forged` as its run (none: no run key). Record 1 is in doubt and
/// stored. Nothing is deleted and nothing sent; the copy is reported.
async fn a_forged_copy_of_an_acknowledged_record_is_left_alone(forged: Option<&str>) {
    let product = Product::start().await;
    let dir = tempfile::tempdir().unwrap();
    let runs = json!([{"id": "run-a", "acked": [[0, 1], [2, 4]]}]);
    let import_id = imported_then_killed(&product, dir.path(), json!([[0, 1], [2, 4]]), runs).await;
    let mut info = json!({"memos_load_import": import_id, "memos_load_record": "3"});
    if let Some(run) = forged {
        info["memos_load_run"] = json!(run);
    }
    product.holds(vec![
        marked("real-0", &import_id, 0, "run-a"),
        marked("real-1", &import_id, 1, "run-a"),
        marked("real-2", &import_id, 2, "run-a"),
        marked("real-3", &import_id, 3, "run-a"),
        node("forged-3", info),
    ]);
    let second = import(&product, dir.path()).await;
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(
        product.deleted(),
        Vec::<String>::new(),
        "nothing is deleted"
    );
    assert_eq!(product.sent(), Vec::<u64>::new(), "record 1 is stored");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!((report.present, report.missing), (1, 0), "{report:?}");
    assert_eq!(foreign_markers(&second), json!(1), "{second:?}");
}

/// A node with this import's marker and no run key (run id `""`, which sorted first) is
/// not the import's own: the acknowledged node of record 3 is not deleted for it.
#[tokio::test]
async fn a_forged_marker_without_a_run_key_is_not_the_importers_own() {
    a_forged_copy_of_an_acknowledged_record_is_left_alone(None).await;
}

/// A node with this import's marker and a run id the checkpoint never recorded (one that
/// sorts before the real run's) is not the import's own either.
#[tokio::test]
async fn a_forged_marker_with_another_run_id_is_not_the_importers_own() {
    a_forged_copy_of_an_acknowledged_record_is_left_alone(Some("0-forged-run")).await;
}

/// Record 1 is in doubt and the cube holds only forged copies of its marker: it is sent
/// again, the forged nodes stay, and the summary reports them.
#[tokio::test]
async fn a_record_in_doubt_with_only_a_forged_copy_is_sent_again() {
    let product = Product::start().await;
    let dir = tempfile::tempdir().unwrap();
    let runs = json!([{"id": "run-a", "acked": [[0, 1], [2, 4]]}]);
    let import_id = imported_then_killed(&product, dir.path(), json!([[0, 1], [2, 4]]), runs).await;
    product.holds(vec![
        marked("real-0", &import_id, 0, "run-a"),
        node(
            "forged-1a",
            json!({"memos_load_import": import_id, "memos_load_record": "1"}),
        ),
        marked("forged-1b", &import_id, 1, "not-a-run-of-this-import"),
        marked("real-2", &import_id, 2, "run-a"),
        marked("real-3", &import_id, 3, "run-a"),
    ]);
    let second = import(&product, dir.path()).await;
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(product.sent(), vec![1], "record 1 is sent again");
    assert_eq!(
        product.deleted(),
        Vec::<String>::new(),
        "nothing is deleted"
    );
    let report = second.reconciliation.clone().unwrap();
    assert_eq!((report.present, report.missing), (0, 1), "{report:?}");
    assert_eq!(second.possibly_duplicated, 0);
    assert_eq!(foreign_markers(&second), json!(2), "{second:?}");
}

/// Record 2 was acknowledged by run `run-b`, whose two chunks the cube holds; run `run-a`
/// (recorded first, and sorting first) was killed with its add of record 2 half stored,
/// and a stranger copied the marker. The partial copy of the known run is deleted; the
/// acknowledged copy and the stranger's node stay.
#[tokio::test]
async fn a_killed_runs_partial_copy_is_deleted_and_the_acknowledged_copy_kept() {
    let product = Product::start().await;
    let dir = tempfile::tempdir().unwrap();
    let runs = json!([
        {"id": "run-a", "acked": [[0, 1]]},
        {"id": "run-b", "acked": [[2, 4]]},
    ]);
    let import_id = imported_then_killed(&product, dir.path(), json!([[0, 1], [2, 4]]), runs).await;
    product.holds(vec![
        marked("a-0", &import_id, 0, "run-a"),
        marked("b-1", &import_id, 1, "run-b"),
        marked("a-2-chunk-1", &import_id, 2, "run-a"),
        marked("b-2-chunk-1", &import_id, 2, "run-b"),
        marked("b-2-chunk-2", &import_id, 2, "run-b"),
        marked("z-2", &import_id, 2, "zz-stranger"),
        marked("b-3", &import_id, 3, "run-b"),
    ]);
    let second = import(&product, dir.path()).await;
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(product.deleted(), vec!["a-2-chunk-1".to_owned()]);
    assert_eq!(product.sent(), Vec::<u64>::new(), "record 1 is stored");
    let report = second.reconciliation.clone().unwrap();
    assert_eq!(
        (report.present, report.missing, report.duplicates_removed),
        (1, 0, 1),
        "{report:?}"
    );
    assert_eq!(foreign_markers(&second), json!(1), "{second:?}");
}

/// A checkpoint of an older loader records no runs: nodes with the import's marker may be
/// its runs' or copies. Record 1 in doubt with such a node is sent again and counted as
/// possibly duplicated, nothing is deleted, and the checkpoint then records this run (and
/// that the runs before it are unknown).
#[tokio::test]
async fn an_older_loaders_checkpoint_sends_records_in_doubt_again_and_deletes_nothing() {
    let product = Product::start().await;
    let dir = tempfile::tempdir().unwrap();
    let import_id =
        imported_then_killed(&product, dir.path(), json!([[0, 1], [2, 4]]), json!(null)).await;
    let path = dir.path().join("ck.json");
    let mut ck: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    ck.as_object_mut().unwrap().remove("runs");
    std::fs::write(&path, serde_json::to_vec(&ck).unwrap()).unwrap();
    product.holds(vec![
        marked("old-1", &import_id, 1, "an-unrecorded-run"),
        marked("old-2a", &import_id, 2, "an-unrecorded-run"),
        marked("old-2b", &import_id, 2, "another-unrecorded-run"),
    ]);
    let second = import(&product, dir.path()).await;
    assert!(second.is_complete(), "{second:?}");
    assert_eq!(product.sent(), vec![1]);
    assert_eq!(product.deleted(), Vec::<String>::new());
    let report = second.reconciliation.clone().unwrap();
    assert_eq!((report.present, report.cannot_tell), (0, 1), "{report:?}");
    assert!(report.reason.unwrap().contains("older loader"));
    assert_eq!(second.possibly_duplicated, 1);
    let ck: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(ck["earlier_runs_unknown"], json!(true), "{ck}");
    assert_eq!(ck["runs"].as_array().unwrap().len(), 1, "{ck}");
    assert_eq!(ck["runs"][0]["acked"], json!([[1, 2]]), "{ck}");
}
