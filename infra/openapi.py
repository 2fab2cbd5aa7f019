"""The one OpenAPI 3.1 document of Reelgate's public API, built from the registry and the contracts.

Every route of `infra/registry.py` becomes an operation; its function's contract (`infra/contracts.py`)
gives the bodies and answers, its `auth` the security scheme and the auth errors, an `idempotency`
setting group the `Idempotency-Key` header. Schemas are pydantic's `models_json_schema`; the result is
checked against Powertools' OpenAPI models. `python -m infra.openapi --write` (`make openapi`)
rewrites docs/openapi.json; `--check` fails when it drifted.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import OpenAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from reelgate.idempotency import MAX_KEY_LENGTH
from reelgate.mobile.models import SubmitError
from reelgate.toolkit.models import NcaError

from infra.contracts import CONTRACTS, Contract, Schema
from infra.registry import ROOT, Function, Route, routes

DOCUMENT = ROOT / "docs" / "openapi.json"
SERVER = "http://localhost:3000"  # `make dev`; the local cloud serves the document with its own address
REF = "#/components/schemas/{model}"

SECURITY: dict[str, tuple[str, dict[str, Any]]] = {  # registry auth -> (scheme name, scheme)
    "api_key": ("ToolkitApiKey", {"type": "apiKey", "in": "header", "name": "x-api-key",
                                  "description": "the toolkit API key (`python -m infra.admin keys create`)"}),
    "apphud_token": ("ApphudToken", {"type": "apiKey", "in": "header", "name": "X-Apphud-Token",
                                     "description": "the static token configured in Apphud's webhook settings"}),
    "topview_uid": ("TopViewUid", {"type": "apiKey", "in": "header", "name": "Topview-Uid",
                                   "description": "our TopView account's uid"}),
}
APP_IDENTITY = ("The caller is named in the body (`app_bundle_id`, `apphud_user_id`): the app must be registered "
                "and the user's Apphud subscription active; no header is needed.")
GATEWAY_TIMEOUT = {"description": "API Gateway: the integration took longer than 29 s", "content": {
    "application/json": {"schema": {"type": "object", "required": ["message"],
                                    "properties": {"message": {"type": "string"}}}}}}


IDEMPOTENCY_ERRORS = {409: "the first request with this Idempotency-Key is still running (mobile: 500069)",
                      422: "this Idempotency-Key was used with another body (mobile: 400017)"}


class MissingContract(LookupError):
    pass


def contract_of(route: Route, fn: Function) -> Contract:
    found = CONTRACTS.get(fn.name)
    if found is None:
        raise MissingContract(f"{route.method} {route.path} (function {fn.name}) has no contract: add one to "
                              f"infra/contracts.py, then run `make openapi`")
    return found


def _models(contracts: list[Contract]) -> tuple[list[type[BaseModel]], list[type[BaseModel]]]:
    requests: dict[type[BaseModel], None] = {}
    answers: dict[type[BaseModel], None] = {}
    for c in contracts:
        if c.body is not None:
            for schema in (c.body.json, c.body.multipart):
                requests.update(dict.fromkeys(_model_list(schema)))
        for _, schema in c.answers.values():
            answers.update(dict.fromkeys(_model_list(schema)))
    return list(requests), list(answers)


def _model_list(schema: Schema | None) -> list[type[BaseModel]]:
    if isinstance(schema, list):
        return [m for item in schema for m in _model_list(item)]
    return [schema] if isinstance(schema, type) and issubclass(schema, BaseModel) else []


class _Builder:
    def __init__(self, contracts: list[Contract]) -> None:
        requests, answers = _models(contracts)
        keys = [(m, "validation") for m in requests] + [(m, "serialization") for m in answers]
        refs, defs = models_json_schema(keys, ref_template=REF)  # type: ignore[arg-type]
        self.refs = {model: ref for (model, _), ref in refs.items()}
        self.schemas: dict[str, Any] = defs.get("$defs", {})

    def schema(self, schema: Schema) -> dict[str, Any]:
        if isinstance(schema, list):
            return {"oneOf": [self.schema(item) for item in schema]}
        if isinstance(schema, dict):
            return schema
        return dict(self.refs[schema])

    def operation(self, route: Route, fn: Function, contract: Contract, operation_id: str) -> dict[str, Any]:
        op: dict[str, Any] = {"operationId": operation_id, "summary": contract.summary, "tags": list(contract.tags)}
        if fn.routes[0] != route:
            op["description"] = f"An alias of `{fn.routes[0].method} {fn.routes[0].path}`."
        elif fn.auth == "app":
            op["description"] = APP_IDENTITY
        answers = dict(contract.answers)
        if fn.auth in SECURITY:
            op["security"] = [{SECURITY[fn.auth][0]: []}]
        if fn.auth == "api_key":
            answers.setdefault(401, ("missing or unknown x-api-key", NcaError))
        if "idempotency" in fn.settings:
            op["parameters"] = [{"name": "Idempotency-Key", "in": "header", "required": False,
                                 "description": "a repeat with the same key and body answers the first answer "
                                                "(`Idempotent-Replayed: true`) and starts nothing; keys last 24 h",
                                 "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH}}]
            error = NcaError if fn.auth == "api_key" else SubmitError
            for status, why in IDEMPOTENCY_ERRORS.items():
                known = answers.get(status)
                answers[status] = ("; ".join(filter(None, [known[0], why])), known[1]) if known else (why, error)
        if contract.body is not None:
            op["requestBody"] = {"required": not contract.body.optional, "content": self._content(contract)}
        op["responses"] = {str(status): self._answer(status, *answers[status], contract)
                           for status in sorted(answers)} | {"504": GATEWAY_TIMEOUT}
        return op

    def _content(self, contract: Contract) -> dict[str, Any]:
        assert contract.body is not None
        content: dict[str, Any] = {}
        if contract.body.json is not None:
            content["application/json"] = {"schema": self.schema(contract.body.json)}
            if contract.body.example is not None:
                content["application/json"]["example"] = contract.body.example
        if contract.body.multipart is not None:
            content["multipart/form-data"] = {"schema": self.schema(contract.body.multipart)}
        return content

    def _answer(self, status: int, description: str, schema: Schema, contract: Contract) -> dict[str, Any]:
        codes = sorted(code for code, s in contract.codes.items() if s == status)
        text = "; ".join(filter(None, ["codes " + ", ".join(map(str, codes)) if codes else "", description]))
        media = "text/plain" if status in contract.text else "application/json"
        return {"description": text, "content": {media: {"schema": self.schema(schema)}}}


def document(server: str = SERVER, *, lenient: bool = False) -> dict[str, Any]:
    """The OpenAPI document; raises MissingContract naming a route whose function has none.

    `lenient` (the local cloud's /openapi.json) lists such a route as undocumented instead, so a route
    merged before its contract does not stop `make dev`; the checked-in document is always strict.
    """
    table: list[tuple[Route, Function, Contract | None]] = []
    for route, fn in routes():
        try:
            table.append((route, fn, contract_of(route, fn)))
        except MissingContract:
            if not lenient:
                raise
            table.append((route, fn, None))
    builder = _Builder([c for _, _, c in table if c is not None])
    paths: dict[str, dict[str, Any]] = {}
    for route, fn, contract in table:
        index = fn.routes.index(route)
        operation_id = fn.name if index == 0 else f"{fn.name}_alias{index}"
        paths.setdefault(route.path, {})[route.method.lower()] = (
            builder.operation(route, fn, contract, operation_id) if contract else _undocumented(fn, operation_id))
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Reelgate", "version": "1.0.0",
                 "description": "AI-video generations (mobile API: Pixverse, TopView) and an NCA-compatible "
                                "FFmpeg toolkit. Generated from the code by `make openapi`; do not edit."},
        "servers": [{"url": server}],
        "paths": paths,
        "components": {"schemas": dict(sorted(builder.schemas.items())),
                       "securitySchemes": dict(SECURITY.values())},
    }
    OpenAPI.model_validate(doc)  # Powertools' models of the specification: the structure is right
    return doc


def _undocumented(fn: Function, operation_id: str) -> dict[str, Any]:
    return {"operationId": operation_id, "summary": fn.description, "responses": {"default": {
        "description": f"not documented yet: {fn.name} has no contract in infra/contracts.py"}}}


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.openapi", description=__doc__)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite docs/openapi.json")
    group.add_argument("--check", action="store_true", help="fail if docs/openapi.json is not up to date")
    args = parser.parse_args(argv)
    text = render(document())
    if args.write:
        DOCUMENT.write_text(text)
    elif args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text() != text:
            print("docs/openapi.json is out of date: run `make openapi`", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
