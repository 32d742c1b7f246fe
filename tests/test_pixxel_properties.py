"""Property-based: documents generated from the OpenAPI schemas, then mangled, never crash the parser.

A strategy is built straight from the JSON schemas in pixxel_dashboard/pixxel/openapi.json ($refs
resolved). Valid documents must parse; mutated ones (keys set to null, deleted, or given values of the
wrong type) must parse or raise PixxelError(kind="invalid_response") — nothing else.
"""

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pixxel_dashboard.pixxel import ErrorKind, PixxelError, parsing

OPENAPI = Path(__file__).resolve().parent.parent / "pixxel_dashboard" / "pixxel" / "openapi.json"


@cache
def openapi() -> dict:
    return json.loads(OPENAPI.read_text())


def resolve(ref: str) -> dict:
    node = openapi()
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8)
json_scalars |= st.floats(allow_nan=False, allow_infinity=False)
any_json = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)

# Strings the parser gives meaning to, mixed in with random text.
interesting_strings = st.sampled_from(
    [
        "",
        "2025-03-01T10:00:00Z",
        "2025-03-01T10:00:00.123456789+05:30",
        "0001-01-01T00:00:00Z",
        "45%",
        "1m23s",
        "350ms",
        "completed",
        "inprogress",
        "queued",
        "<string>",
        "eyJhIjogMX0=",  # base64 of {"a": 1}
    ]
)


# Leaf types: what any value of the type may be, plus the odd ones the parser must survive.
scalar_strategies = {
    "string": st.text(max_size=12) | interesting_strings,
    "integer": st.integers(-(2**40), 2**40),
    "number": st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 100),
    "boolean": st.booleans(),
}


def strategy_for(schema: dict, depth: int = 0) -> st.SearchStrategy:
    if "$ref" in schema:
        return strategy_for(resolve(schema["$ref"]), depth)
    if "allOf" in schema:
        return strategy_for(merged_all_of(schema["allOf"]), depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return object_strategy(schema.get("properties"), depth)
    if kind == "array":
        return array_strategy(schema.get("items", {}), depth)
    # `{}`: anything goes (e.g. error details)
    return scalar_strategies.get(kind, any_json)


def merged_all_of(parts: list) -> dict:
    merged: dict = {"type": "object", "properties": {}}
    for part in parts:
        part = resolve(part["$ref"]) if "$ref" in part else part
        merged["properties"].update(part.get("properties", {}))
    return merged


def object_strategy(properties: dict | None, depth: int) -> st.SearchStrategy:
    if not properties or depth > 4:
        return st.dictionaries(st.text(max_size=5), any_json, max_size=3)
    return st.fixed_dictionaries(
        {}, optional={name: strategy_for(sub, depth + 1) for name, sub in properties.items()}
    )


def array_strategy(items: dict, depth: int) -> st.SearchStrategy:
    if items.get("type") == "integer":
        # Raw-JSON fields: byte values most of the time, any integers sometimes.
        return st.lists(st.integers(0, 255), max_size=12) | st.lists(st.integers(), max_size=3)
    return st.lists(strategy_for(items, depth + 1), max_size=3)


def paths_in(doc, prefix=()):
    """Every (container, key) location inside a document."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            yield (*prefix, key)
            yield from paths_in(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            yield (*prefix, index)
            yield from paths_in(value, (*prefix, index))


def wrong_type_for(value) -> st.SearchStrategy:
    return any_json.filter(lambda other: type(other) is not type(value))


@st.composite
def mutated(draw, documents: st.SearchStrategy):
    doc = draw(documents)
    if draw(st.integers(0, 19)) == 0:
        return draw(wrong_type_for(doc))  # the whole body is of the wrong type
    for _ in range(draw(st.integers(1, 6))):
        paths = list(paths_in(doc))
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        action = draw(st.sampled_from(["null", "delete", "wrong_type"]))
        if action == "null":
            parent[last] = None
        elif action == "delete":
            del parent[last]
        else:
            parent[last] = draw(wrong_type_for(parent[last]))
    return doc


RESPONSES = [
    ("dexter.GetJobByIdTransformerResponse", parsing.parse_job),
    ("dexter.PostWorkflowRunTransformerResponse", parsing.parse_job),
    ("dexter.ListJobsTransformerResponse", parsing.parse_job_list),
    ("dexter.ListWorkflowsTransformerResponse", parsing.parse_workflow_list),
    ("dexter.GetWorkflowsByIdTransformerResponse", parsing.parse_workflow),
    ("dexter.PutJobUpstreamResponseBody", parsing.parse_download),
    ("dexter.PutTaskUpstreamResponseBody", parsing.parse_download),
    ("frontier.listProjects", parsing.parse_project_list),
    ("frontier.getProjectById", parsing.parse_project_response),
]

HYPOTHESIS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def schema(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@pytest.mark.parametrize(("name", "parse"), RESPONSES, ids=[name for name, _ in RESPONSES])
def test_it_parses_every_document_the_schema_allows(name, parse):
    @HYPOTHESIS
    @given(doc=strategy_for(schema(name)))
    def check(doc):
        if name == "frontier.getProjectById" and not isinstance(doc.get("project"), dict):
            with pytest.raises(PixxelError):  # the wrapper is all there is to this answer
                parse(doc)
            return
        assert parse(json.loads(json.dumps(doc))) is not None

    check()


@pytest.mark.parametrize(("name", "parse"), RESPONSES, ids=[name for name, _ in RESPONSES])
def test_it_returns_a_value_or_invalid_response_for_mangled_documents(name, parse):
    @HYPOTHESIS
    @given(doc=mutated(strategy_for(schema(name))))
    def check(doc):
        try:
            parse(doc)
        except PixxelError as exc:
            assert exc.kind == ErrorKind.INVALID_RESPONSE

    check()


def test_it_generates_documents_that_the_schema_itself_accepts():
    import jsonschema

    job_schema = resolve("#/components/schemas/dexter.ListJobsTransformerResponse")
    items = resolve(job_schema["properties"]["jobs"]["items"]["$ref"])
    resolved = {"type": "object", "properties": {"jobs": {"type": "array", "items": items}}}

    @settings(max_examples=30, deadline=None)
    @given(doc=strategy_for(schema("dexter.ListJobsTransformerResponse")))
    def check(doc):
        jsonschema.validate(doc, resolved)

    check()
