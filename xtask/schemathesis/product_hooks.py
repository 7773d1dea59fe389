"""schemathesis hooks of `cargo xtask schemathesis --api product`.

The /product server reads local files and fetches URLs named in a request: `doc_path`,
`file` content parts (`file_data`, `file_id`, `path`), image and audio URLs, skill zip URLs
(`is_upload_skill`), cube paths. Generated requests must not reach outside the server's own
data, so before each call every such value is replaced: paths by the sandbox file inside the
server's temp dir (MEMOS_SCHEMATHESIS_SANDBOX), URLs by a dead loopback port. The scheduler
waits are capped at a few seconds so that a run stays bounded.

The replacements keep every value of the type the spec gives it, so a request that was valid
against the spec stays valid.

A custom check (ST901) validates the JSON inside each server-sent event against the
response's `x-event-schema` (MEMOS_SCHEMATHESIS_SPEC names the spec).
"""

import os

import schemathesis

SANDBOX = os.environ["MEMOS_SCHEMATHESIS_SANDBOX"]
SANDBOX_FILE = os.path.join(SANDBOX, "note.txt")
# The discard port on loopback: nothing listens, so a fetch fails at once.
DEAD_URL = "http://127.0.0.1:9/blocked"
# Body keys whose string value names a server-side path.
PATH_KEYS = {"doc_path", "file_data", "file_id", "path", "filename"}
DIR_KEYS = {"mem_cube_name_or_path", "cube_path"}
URL_KEYS = {"url", "image_url", "data"}
MAX_WAIT_SECONDS = 2.0


def _scrub(value, parent_key=None):
    if isinstance(value, dict):
        return {key: _scrub_item(key, item, parent_key) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub(item, parent_key) for item in value]
    return value


def _scrub_item(key, item, parent_key):
    if isinstance(item, str):
        if key in PATH_KEYS:
            return SANDBOX_FILE
        if key in DIR_KEYS:
            return SANDBOX
        # `url` of an image part, `data` of an audio part; a message's `data` elsewhere is
        # left alone.
        if key in URL_KEYS and parent_key in ("image_url", "input_audio"):
            return DEAD_URL
    if key == "is_upload_skill" and item is True:
        return False
    return _scrub(item, key)


def _cap(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    if number > MAX_WAIT_SECONDS:
        return MAX_WAIT_SECONDS
    return value


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, (dict, list)):
        case.body = _scrub(case.body)
    if isinstance(case.query, dict) and "timeout_seconds" in case.query:
        case.query["timeout_seconds"] = _cap(case.query["timeout_seconds"])


# ---- The JSON inside each server-sent event ------------------------------------------------
#
# The spec gives an event stream's schema per event (`{data: string}`), as schemathesis reads
# it; the JSON inside `data` is described by the response's `x-event-schema`. This check
# validates that JSON, so that a frame outside its schema is a finding like any other
# response outside its schema.

import copy
import json
import re

import jsonschema_rs
import yaml

# The spec schemathesis runs, named by the xtask.
SPEC_FILE = os.environ["MEMOS_SCHEMATHESIS_SPEC"]
with open(SPEC_FILE, encoding="utf-8") as _file:
    SPEC = yaml.safe_load(_file)


def _to_json_schema(node):
    """OpenAPI 3.0 schema to JSON Schema: `nullable`, and refs into `$defs`."""
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _to_json_schema(value) for key, value in node.items() if key not in ("nullable", "example")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    if node.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


DEFS = {name: _to_json_schema(schema) for name, schema in SPEC["components"]["schemas"].items()}
_VALIDATORS = {}


def _resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        path = node["$ref"].lstrip("#/").split("/")
        node = SPEC
        for part in path:
            node = node[part]
    return node


def _event_validator(case, status):
    operation = SPEC["paths"].get(case.operation.path, {}).get(case.operation.method.lower(), {})
    response = _resolve(operation.get("responses", {}).get(str(status)))
    event_schema = (response or {}).get("x-event-schema")
    if event_schema is None:
        return None
    key = json.dumps(event_schema, sort_keys=True)
    if key not in _VALIDATORS:
        schema = {"$defs": copy.deepcopy(DEFS), **_to_json_schema(event_schema)}
        _VALIDATORS[key] = jsonschema_rs.Draft202012Validator(schema)
    return _VALIDATORS[key]


@schemathesis.check
def sse_event_json_matches_x_event_schema(ctx, response, case):
    content_type = ",".join(response.headers.get("content-type", []))
    if not content_type.startswith("text/event-stream"):
        return None
    validator = _event_validator(case, response.status_code)
    if validator is None:
        return None
    # SSE lines end only at CR or LF; str.splitlines() would also split at U+0085 and U+2028,
    # which the server sends raw inside the JSON (`ensure_ascii=False`).
    for line in re.split("\r\n|\r|\n", response.text):
        if not line.startswith("data:"):
            continue
        payload = line[len("data:"):].strip()
        try:
            event = json.loads(payload)
        except ValueError as error:
            raise AssertionError(f"an event's data is not JSON: {error}: {payload[:200]}") from None
        errors = [str(error) for error in validator.iter_errors(event)]
        if errors:
            raise AssertionError(f"an event violates x-event-schema: {errors[0][:300]}; event: {payload[:200]}")
    return None
