"""IAM for the local cloud: moto does not enforce it, so a middleware in front of moto does, with this core.

Per request: `access_key_of` names the Lambda whose role signed it, `requested` lists the (action, resource)
pairs AWS would authorize, `evaluate` checks them against that role's `Policy`, and `access_denied` is the
answer AWS gives when one is refused, in the service's own wire format (botocore parses it as AccessDenied).

Evaluation follows AWS for identity policies: an explicit Deny wins, then any Allow, else denied. Actions match
case-insensitively, resources case-sensitively, both with `*` (any run, `/` and `:` included: AWS lets a `*`
ending an ARN segment expand past colons, and a mid-segment `*` spanning a colon is the one looser case) and `?`.
Not modelled: NotAction, NotResource, Condition, policy variables, resource policies, SCPs, boundaries.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

from infra.local.iam_requests import Headers, WireRequest, access_key_of, requested, service_of

__all__ = ["Headers", "Policy", "Statement", "WireRequest", "access_denied", "access_key_of", "action_matches",
           "evaluate", "requested", "resource_matches", "service_of"]


@dataclass(frozen=True)
class Statement:
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def covers(self, action: str, resource: str) -> bool:
        return any(action_matches(pattern, action) for pattern in self.actions) and \
            any(resource_matches(pattern, resource) for pattern in self.resources)


@dataclass(frozen=True)
class Policy:
    principal: str  # e.g. arn:aws:sts::123456789012:assumed-role/reelgate-toolkit_render/toolkit_render
    statements: tuple[Statement, ...]

    @classmethod
    def from_documents(cls, principal: str, documents: Iterable[Mapping[str, Any]]) -> Policy:
        """From IAM policy documents whose ARNs are plain strings. Elements this module cannot honour are
        refused rather than ignored, since ignoring them would widen (Allow) or narrow (Deny) the policy."""
        statements = []
        for document in documents:
            listed = document.get("Statement", [])
            for raw in [listed] if isinstance(listed, Mapping) else listed:
                if unsupported := {"NotAction", "NotResource", "Condition", "NotPrincipal"} & set(raw):
                    raise ValueError(f"unsupported policy elements {sorted(unsupported)} in {raw!r}")
                actions, resources = raw["Action"], raw["Resource"]
                statements.append(Statement(
                    raw["Effect"], tuple([actions] if isinstance(actions, str) else actions),
                    tuple([resources] if isinstance(resources, str) else resources)))
        return cls(principal, tuple(statements))


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
    return re.compile(regex, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def action_matches(pattern: str, action: str) -> bool:
    return _glob(pattern, True).fullmatch(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    return _glob(pattern, False).fullmatch(resource) is not None


def evaluate(policy: Policy, pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first pair the policy does not allow (explicit Deny, or no Allow), else None."""
    for action, resource in pairs:
        effects = {s.effect for s in policy.statements if s.covers(action, resource)}
        if "Deny" in effects or "Allow" not in effects:
            return action, resource
    return None


_JSON_VERSION = {"dynamodb": "1.0", "states": "1.0", "sqs": "1.0"}  # each service's botocore jsonVersion
_QUERY_PROTOCOL = frozenset({"sts", "iam", "sns", "ses", "cloudformation", "rds", "autoscaling"})


def access_denied(service: str, principal: str, action: str, resource: str) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of AWS's access-denied answer for `service` (a credential-scope name).
    The message is always the default-deny wording, even when an explicit Deny refused the request."""
    message = (f"User: {principal} is not authorized to perform: {action} on resource: {resource} "
               f"because no identity-based policy allows the {action} action")
    request_id = str(uuid.uuid4())
    if service == "s3":
        xml = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied'
               f"</Message><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>")
        return 403, {"Content-Type": "application/xml", "x-amz-request-id": request_id}, xml.encode()
    if service in _QUERY_PROTOCOL:
        xml = (f"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{escape(message)}"
               f"</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>")
        return 403, {"Content-Type": "text/xml", "x-amzn-RequestId": request_id}, xml.encode()
    if service == "lambda":
        return 403, {"Content-Type": "application/json", "x-amzn-ErrorType": "AccessDeniedException",
                     "x-amzn-RequestId": request_id}, json.dumps({"Message": message}).encode()
    headers = {"Content-Type": f"application/x-amz-json-{_JSON_VERSION.get(service, '1.1')}",
               "x-amzn-RequestId": request_id}
    if service == "dynamodb":
        body = {"__type": "com.amazon.coral.service#AccessDeniedException", "Message": message}
    else:
        body = {"__type": "AccessDeniedException", "message": message}
    return 400, headers, json.dumps(body).encode()
