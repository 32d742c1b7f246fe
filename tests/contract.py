"""Validate responses against Pixxel's OpenAPI 3.0 contract (pixxel_dashboard/pixxel/openapi.json).

A test tool (it needs jsonschema, a development dependency), used by the sandbox's and the client's
tests:

    validate_response("GET", "/v0/workflows/{workflow_id}", 200, body)

`body` may be parsed JSON or the raw bytes/str of the response. A mismatch raises ContractViolation
(an AssertionError, so pytest shows it as a failed assertion).
"""

from __future__ import annotations

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

OPENAPI_PATH = (
    Path(__file__).resolve().parent.parent / "pixxel_dashboard" / "pixxel" / "openapi.json"
)

# The contract declares these four fields as `integer[]` ("raw JSON"/"raw bytes"): that is how Pixxel's
# generator renders a Go json.RawMessage/[]byte. On the wire they are most likely embedded JSON values, but
# a byte list or a base64 string are possible too, so the validator accepts ANY value for them.
# Everything else must match the declared schemas exactly.
RAW_JSON_FIELDS = frozenset({"spec", "inputs", "result", "info_logs"})

_ERROR_RESPONSE_REF = "#/components/schemas/common.ErrorResponse"


class ContractViolation(AssertionError):
    """A response does not match what openapi.json declares."""


@cache
def load_openapi() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text())


def path_templates() -> list[str]:
    return list(load_openapi()["paths"])


@cache
def _template_patterns() -> list[tuple[re.Pattern[str], str]]:
    patterns = []
    for template in path_templates():
        regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        patterns.append((re.compile(f"^{regex}$"), template))
    # Literal segments win over parameters (e.g. /v0/jobs/stats before /v0/jobs/{id}).
    patterns.sort(key=lambda item: item[1].count("{"))
    return patterns


def match_path(path: str) -> str | None:
    """The contract's path template for a concrete path, or None."""
    for pattern, template in _template_patterns():
        if pattern.match(path):
            return template
    return None


def _resolve(ref: str) -> dict[str, Any]:
    node: Any = load_openapi()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _is_raw_json_schema(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "array" and schema.get("items", {}).get("type") == "integer"


def to_json_schema(
    schema: dict[str, Any], *, strict: bool = True, depth: int = 0
) -> dict[str, Any]:
    """Turn an OpenAPI 3.0 schema object into a self-contained JSON Schema (draft 4).

    $refs are inlined, `nullable: true` becomes a "null" type, OpenAPI-only keywords are dropped and, when
    `strict`, objects that declare `properties` refuse undeclared ones (catches `workflowId` vs `workflow_id`).
    """
    if depth > 50:
        raise ContractViolation("schema nesting too deep (recursive $ref?)")
    if "$ref" in schema:
        return to_json_schema(_resolve(schema["$ref"]), strict=strict, depth=depth + 1)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or key in {
            "example",
            "description",
            "externalDocs",
            "xml",
            "nullable",
        }:
            continue
        if key == "properties":
            out[key] = {
                name: {}
                if name in RAW_JSON_FIELDS and _is_raw_json_schema(sub)
                else to_json_schema(sub, strict=strict, depth=depth + 1)
                for name, sub in value.items()
            }
        elif key in {"items", "not"} or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value, strict=strict, depth=depth + 1)
        elif key in {"allOf", "anyOf", "oneOf"}:
            out[key] = [to_json_schema(sub, strict=strict, depth=depth + 1) for sub in value]
        else:
            out[key] = copy.deepcopy(value)
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if strict and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    return out


def _response_schema(method: str, path_template: str, status: int) -> dict[str, Any] | None:
    paths = load_openapi()["paths"]
    if path_template not in paths:
        raise ContractViolation(f"{path_template} is not a path in the contract")
    operation = paths[path_template].get(method.lower())
    if operation is None:
        raise ContractViolation(f"{method.upper()} {path_template} is not in the contract")
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or responses.get("default")
    if response is None:
        # Operations guarded by the ApiKeyAuth security scheme answer a bad key with 403 and the common
        # error body, even the two project endpoints whose responses list omits 403.
        if status == 403 and operation.get("security"):
            return {"$ref": _ERROR_RESPONSE_REF}
        raise ContractViolation(
            f"{method.upper()} {path_template} does not declare status {status} "
            f"(declared: {', '.join(sorted(responses))})"
        )
    content = response.get("content")
    if not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media.get("schema")


def validate_response(
    method: str, path_template: str, status: int, body: Any, *, strict: bool = True
) -> None:
    """Raise ContractViolation unless `body` is what the contract declares for this status."""
    schema = _response_schema(method, path_template, status)
    if schema is None:
        return
    if isinstance(body, bytes | bytearray | str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise ContractViolation(
                f"{method.upper()} {path_template} {status}: body is not JSON ({exc})"
            ) from None
    validator = jsonschema.Draft4Validator(to_json_schema(schema, strict=strict))
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [
            f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in errors[:10]
        ]
        raise ContractViolation(
            f"{method.upper()} {path_template} {status} does not match the contract:\n  "
            + "\n  ".join(lines)
        )


def validate_http_response(response: Any, *, strict: bool = True) -> None:
    """Validate a requests-style response (`.request.method`, `.url`, `.status_code`, `.content`)."""
    from urllib.parse import urlsplit

    path = urlsplit(response.url).path
    template = match_path(path)
    if template is None:
        raise ContractViolation(f"{path} matches no path in the contract")
    validate_response(
        response.request.method, template, response.status_code, response.content, strict=strict
    )
