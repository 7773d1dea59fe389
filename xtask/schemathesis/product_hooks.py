"""schemathesis hooks of `cargo xtask schemathesis --api product`.

The /product server reads local files and fetches URLs named in a request: `doc_path`,
`file` content parts (`file_data`, `file_id`, `path`), image and audio URLs, skill zip URLs
(`is_upload_skill`), cube paths. Generated requests must not reach outside the server's own
data, so before each call every such value is replaced: paths by the sandbox file inside the
server's temp dir (MEMOS_SCHEMATHESIS_SANDBOX), URLs by a dead loopback port. The scheduler
waits are capped at a few seconds so that a run stays bounded.

The replacements keep every value of the type the spec gives it, so a request that was valid
against the spec stays valid.
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
