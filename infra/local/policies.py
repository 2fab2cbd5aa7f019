"""Each function's IAM policy, from the same grants the CDK app turns into its role, enforced per call."""

from __future__ import annotations

from typing import Any

from infra import environment, registry
from infra.local import functions
from infra.local.aws_server import Answer, Authorizer, Call
from infra.local.iam import Policy, Statement, access_denied, evaluate
from infra.local.iam_requests import Headers, WireRequest, requested


def policy(spec: registry.Function, res: environment.Resources) -> Policy:
    return Policy(
        principal=functions.identity(spec.name).principal,
        statements=tuple(Statement("Allow", s.actions, s.resources)
                         for s in environment.statements(spec.grants, res)),
    )


def authorizer(res: environment.Resources, session: Any = None) -> Authorizer:
    """Authorize a function's call as its deployed role would, or answer AccessDenied."""
    policies = {spec.name: policy(spec, res) for spec in registry.FUNCTIONS}
    secret_names = {arn.split(":secret:")[1].rsplit("-", 1)[0]: arn for arn in res.secret_arns.values()}

    def secret_arn(secret_id: str) -> str | None:
        return secret_id if secret_id.startswith("arn:") else secret_names.get(secret_id)

    def authorize(function: str, service: str, call: Call) -> Answer | None:
        wire = WireRequest(call.method, call.path, call.query, Headers(dict(call.headers)), call.body)
        pairs = requested(wire, account=res.account, region=res.region, secret_arn=secret_arn)
        denied = evaluate(policies[function], pairs)
        if denied is None:
            return None
        return access_denied(service, policies[function].principal, *denied)

    return authorize
