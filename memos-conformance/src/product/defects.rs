//! The known defects of the product server MemoryOS 2.0.33 (`memos.api.server_api:app`,
//! which publishes "MemOS Server REST APIs" 1.0.1), as run by `memos-reference-server
//! --api product`: the PostgreSQL graph store, no Redis, a fake LLM, and no pgvector type
//! caster (with `--pgvector-caster` search works, and its case reports the defect fixed).
//!
//! The product server has no storage backend of cube directories; every entry names all
//! backends so that it applies whatever the run assumes.

use crate::backend::Backend;
use crate::defects::KnownDefect;

const ANY: &[Backend] = &Backend::ALL;

/// The key the product server publishes.
pub const PRODUCT_KEY: &str = "MemOS Server REST APIs 1.0.1";

/// Its defects.
pub(crate) const DEFECTS: &[KnownDefect] = &[
    KnownDefect {
        case: "get_memory.returns_added_memory",
        backends: ANY,
        behaviour: "reads by id see only the internal cube memos_default: a memory of any other cube answers 200 with data null and \"Memory with ID <id> not found\"",
        signatures: &["not found"],
    },
    KnownDefect {
        case: "get_memories_by_ids.answers_added_memory",
        backends: ANY,
        behaviour: "answers 200 with data {\"memories\": []} for a memory outside memos_default (the list wrapped in an object, and empty)",
        signatures: &["did not answer it"],
    },
    KnownDefect {
        case: "search_memories.finds_added_memory",
        backends: ANY,
        behaviour: "on the PostgreSQL graph store embeddings come back as text, the memory model rejects them, and search answers 200 with an empty text_mem (the error only in the server log)",
        signatures: &["found nothing"],
    },
    KnownDefect {
        case: "create_cube.creates_cube",
        backends: ANY,
        behaviour: "the cube is created, but exist_mem_cube_id answers 500 \"'PostgresGraphDB' object has no attribute 'exist_user_name'\"",
        signatures: &["exist_user_name"],
    },
    KnownDefect {
        case: "create_cube.rejects_duplicate_id",
        backends: ANY,
        behaviour: "a duplicate cube_id answers 500 with the raw SQL of the failed insert (sqlite3.IntegrityError UNIQUE constraint failed: cubes.cube_id)",
        signatures: &["IntegrityError", "UNIQUE constraint"],
    },
    KnownDefect {
        case: "exist_mem_cube_id.unknown_cube_is_false",
        backends: ANY,
        behaviour: "always 500 \"'PostgresGraphDB' object has no attribute 'exist_user_name'\"",
        signatures: &["exist_user_name"],
    },
    KnownDefect {
        case: "get_user_names_by_memory_ids.names_added_memory",
        backends: ANY,
        behaviour: "always 500 \"'PostgresGraphDB' object has no attribute 'get_user_names_by_memory_ids'\"",
        signatures: &["has no attribute 'get_user_names_by_memory_ids'"],
    },
    KnownDefect {
        case: "delete_memory_by_record_id.unknown_record_deletes_nothing",
        backends: ANY,
        behaviour: "always 500 \"'PostgresGraphDB' object has no attribute 'delete_node_by_mem_cube_id'\"",
        signatures: &["has no attribute 'delete_node_by_mem_cube_id'"],
    },
    KnownDefect {
        case: "recover_memory_by_record_id.unknown_record_answers",
        backends: ANY,
        behaviour: "always 500 \"'PostgresGraphDB' object has no attribute 'recover_memory_by_mem_cube_id'\"",
        signatures: &["has no attribute 'recover_memory_by_mem_cube_id'"],
    },
];
