"""What AWS would authorize for one request, read off the wire: who signed it, for which service, and
the (IAM action, resource ARN) pairs it needs. Pure functions; `infra.local.iam` re-exports them.

Coverage is every call Reelgate makes plus their neighbours. Documented gaps (AWS is stricter or finer):
- An operation that is not recognised is asked for as `<service>:<Operation or METHOD>` on `*`, so only a
  policy that allows that action on `*` lets it through (e.g. PartiQL, DynamoDB GetRecords, SQS, SNS).
- Step Functions SendTask{Success,Failure,Heartbeat} are asked for on `*` (the task token names no ARN).
- S3: object-version subresources (GetObjectVersionAcl, ...) and access points are not modelled.
- Condition keys (s3:prefix, dynamodb:LeadingKeys, ...) are not computed; policies may not use them.
- STS GetCallerIdentity needs no permission, as in AWS: it yields no pairs.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

Pairs = list[tuple[str, str]]


class Headers(Mapping[str, str]):
    """Read-only HTTP headers whose lookups ignore case; iteration keeps the names as given."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items = {name.lower(): (name, value) for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict(self._items.values())!r})"


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request as it reached the emulator. `path` is the raw, still percent-encoded path
    (WSGI: RAW_URI/REQUEST_URI, not the decoded PATH_INFO); `query` the raw query string without `?`."""

    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        if not isinstance(self.headers, Headers):
            object.__setattr__(self, "headers", Headers(self.headers))


def _signer(req: WireRequest) -> tuple[str, str] | None:
    """(access key, service) from a SigV4 header or presigned query, or SigV2 (which only S3 still takes)."""
    query = dict(parse_qsl(req.query, keep_blank_values=True))
    auth = req.headers.get("Authorization", "")
    credential = auth.partition("Credential=")[2] if "Credential=" in auth else query.get("X-Amz-Credential", "")
    scope = re.split(r"[,\s]", credential, maxsplit=1)[0].split("/")  # AKID/date/[region/]service/aws4_request
    if len(scope) >= 4 and scope[-1] == "aws4_request" and scope[0]:
        return scope[0], scope[-2]
    if auth.startswith("AWS ") and ":" in auth:
        return auth[4:].rpartition(":")[0].strip(), "s3"
    if query.get("AWSAccessKeyId"):
        return query["AWSAccessKeyId"], "s3"
    return None


def access_key_of(req: WireRequest) -> str | None:
    signer = _signer(req)
    return signer[0] if signer else None


def service_of(req: WireRequest) -> str | None:
    """The signing name of the credential scope: dynamodb, s3, states, secretsmanager, events, lambda, sts, ..."""
    signer = _signer(req)
    return signer[1] if signer else None


@dataclass(frozen=True)
class _Call:
    req: WireRequest
    op: str  # X-Amz-Target's operation, or a query-protocol Action; "" for REST services
    params: dict[str, Any]  # the JSON body of JSON-protocol calls
    query: dict[str, str]
    account: str
    region: str
    secret_arn: Callable[[str], str | None]

    def arn(self, service: str, resource: str) -> str:
        return f"arn:aws:{service}:{self.region}:{self.account}:{resource}"


def _operation(req: WireRequest, query: dict[str, str]) -> str:
    if target := req.headers.get("X-Amz-Target"):
        return target.rpartition(".")[2]
    form = "x-www-form-urlencoded" in req.headers.get("Content-Type", "")  # query protocol: sts, iam, sns
    return dict(parse_qsl(req.body.decode("utf-8", "replace"))).get("Action", "") if form else query.get("Action", "")


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


_TRANSACT = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
             "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def _dynamodb(c: _Call) -> Pairs | None:
    """Transactions are authorized per item action; batches as dynamodb:Batch*Item on each table (as AWS does:
    PutItem alone does not allow BatchWriteItem); Query/Scan on an index on the index's own ARN."""
    p = c.params

    def table(name: str) -> str:
        return name if name.startswith("arn:") else c.arn("dynamodb", f"table/{name}")

    if c.op in ("TransactWriteItems", "TransactGetItems"):
        return [(f"dynamodb:{_TRANSACT[kind]}", table(spec["TableName"]))
                for item in p["TransactItems"] for kind, spec in item.items() if kind in _TRANSACT]
    if c.op in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{c.op}", table(name)) for name in p["RequestItems"]]
    if "TableName" in p:
        arn = table(p["TableName"])
        return [(f"dynamodb:{c.op}", f"{arn}/index/{p['IndexName']}" if p.get("IndexName") else arn)]
    return [(f"dynamodb:{c.op}", next((p[k] for k in ("TableArn", "ResourceArn", "StreamArn") if k in p), "*"))]


def _states(c: _Call) -> Pairs | None:
    p = c.params
    if c.op == "CreateStateMachine":
        return [("states:CreateStateMachine", c.arn("states", f"stateMachine:{p['name']}")),
                ("iam:PassRole", p["roleArn"])]
    keys = () if c.op.startswith("SendTask") else ("executionArn", "stateMachineArn", "mapRunArn", "activityArn",
                                                    "resourceArn")
    return [(f"states:{c.op}", next((p[k] for k in keys if k in p), "*"))]


def _secretsmanager(c: _Call) -> Pairs | None:
    """Secrets are named by name, partial or full ARN; unknown ones get the suffix-less ARN AWS would build."""
    def arn(secret_id: str) -> str:
        known = c.secret_arn(secret_id)
        return known or (secret_id if secret_id.startswith("arn:") else c.arn("secretsmanager", f"secret:{secret_id}"))

    p = c.params
    if c.op == "BatchGetSecretValue":
        return [("secretsmanager:BatchGetSecretValue", "*")] + [
            ("secretsmanager:GetSecretValue", arn(secret_id)) for secret_id in p.get("SecretIdList", [])]
    secret_id = p.get("SecretId") or p.get("Name")  # Name: CreateSecret
    return [(f"secretsmanager:{c.op}", arn(secret_id) if secret_id else "*")]


def _events(c: _Call) -> Pairs | None:
    p = c.params

    def bus(name: str) -> str:
        return name if name.startswith("arn:") else c.arn("events", f"event-bus/{name}")

    if c.op == "PutEvents":
        return [("events:PutEvents", bus(entry.get("EventBusName") or "default")) for entry in p["Entries"]]
    if rule := p.get("Rule") or (p.get("Name") if c.op.endswith("Rule") else None):
        bus_name = (p.get("EventBusName") or "default").rpartition("/")[2]
        return [(f"events:{c.op}", c.arn("events", f"rule/{rule}" if bus_name == "default" else
                                          f"rule/{bus_name}/{rule}"))]
    return [(f"events:{c.op}", bus(p["Name"]) if "EventBus" in c.op and "Name" in p else "*")]


_LAMBDA_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/functions/([^/]+)(/[^?]*)?")
_LAMBDA_OPS = {("POST", "/invocations"): "InvokeFunction", ("POST", "/response-streaming-invocations"):
               "InvokeFunction", ("GET", ""): "GetFunction", ("GET", "/configuration"): "GetFunctionConfiguration"}


def _lambda(c: _Call) -> Pairs | None:
    """Authorized on the function ARN, qualified when the call names a version or alias (AWS matches ARNs as
    strings: `function:f` does not cover `function:f:live`)."""
    match = _LAMBDA_PATH.fullmatch(c.req.path)
    action = match and _LAMBDA_OPS.get((c.req.method, (match[2] or "").rstrip("/")))
    if not match or not action:
        return None
    name = unquote(match[1])
    if name.startswith("arn:"):
        arn = name
    elif ":function:" in name:  # partial ARN: 123456789012:function:name
        account, _, rest = name.partition(":function:")
        arn = f"arn:aws:lambda:{c.region}:{account}:function:{rest}"
    else:
        arn = c.arn("lambda", f"function:{name}")
    if (qualifier := c.query.get("Qualifier")) and arn.count(":") == 6:
        arn = f"{arn}:{qualifier}"
    return [(f"lambda:{action}", arn)]


_S3_VIRTUAL_HOST = re.compile(r"(.+)\.(?:s3[.-].*|localhost(?::\d+)?)")
# subresource -> the action for (GET/HEAD, PUT/POST, DELETE); None: `<Verb>Bucket<Subresource>`
_BUCKET_SUB: dict[str, tuple[str | None, ...]] = {
    "acl": ("GetBucketAcl", "PutBucketAcl", None), "cors": ("GetBucketCORS", "PutBucketCORS", "PutBucketCORS"),
    "encryption": ("GetEncryptionConfiguration", "PutEncryptionConfiguration", "PutEncryptionConfiguration"),
    "lifecycle": ("GetLifecycleConfiguration", "PutLifecycleConfiguration", "PutLifecycleConfiguration"),
    "location": ("GetBucketLocation", None, None), "notification": ("GetBucketNotification", "PutBucketNotification",
                                                                     None),
    "object-lock": ("GetBucketObjectLockConfiguration", "PutBucketObjectLockConfiguration", None),
    "ownershipControls": ("GetBucketOwnershipControls", "PutBucketOwnershipControls", "PutBucketOwnershipControls"),
    "policy": ("GetBucketPolicy", "PutBucketPolicy", "DeleteBucketPolicy"),
    "publicAccessBlock": ("GetBucketPublicAccessBlock", "PutBucketPublicAccessBlock", "PutBucketPublicAccessBlock"),
    "replication": ("GetReplicationConfiguration", "PutReplicationConfiguration", "PutReplicationConfiguration"),
    "tagging": ("GetBucketTagging", "PutBucketTagging", "PutBucketTagging"),
    "uploads": ("ListBucketMultipartUploads", None, None), "versions": ("ListBucketVersions", None, None),
    "website": ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"),
    "accelerate": ("GetAccelerateConfiguration", "PutAccelerateConfiguration", None),
}
_OBJECT_SUB: dict[str, tuple[str | None, ...]] = {
    "acl": ("GetObjectAcl", "PutObjectAcl", None), "attributes": ("GetObjectAttributes", None, None),
    "tagging": ("GetObjectTagging", "PutObjectTagging", "DeleteObjectTagging"),
    "retention": ("GetObjectRetention", "PutObjectRetention", None),
    "legal-hold": ("GetObjectLegalHold", "PutObjectLegalHold", None), "torrent": ("GetObjectTorrent", None, None),
}
_VERB = {"GET": (0, "Get"), "HEAD": (0, "Get"), "PUT": (1, "Put"), "POST": (1, "Put"), "DELETE": (2, "Delete")}
_LIST_PARAMS = frozenset({"prefix", "delimiter", "marker", "max-keys", "list-type", "continuation-token", "id",
                          "start-after", "fetch-owner", "encoding-type", "key-marker", "version-id-marker", "x-id",
                          "upload-id-marker", "max-uploads"})


def _s3_object(c: _Call, arn: str) -> Pairs:
    q, method, headers = c.query, c.req.method, c.req.headers
    sub = next((k for k in q if k in _OBJECT_SUB), None)
    if sub and method in _VERB and (named := _OBJECT_SUB[sub][_VERB[method][0]]):
        return [(f"s3:{named}", arn)]
    if method in ("GET", "HEAD"):
        action = "ListMultipartUploadParts" if "uploadId" in q else "GetObjectVersion" if "versionId" in q else \
            "GetObject"
    elif method == "DELETE":
        action = "AbortMultipartUpload" if "uploadId" in q else "DeleteObjectVersion" if "versionId" in q else \
            "DeleteObject"
    else:  # PUT object or part, POST ?uploads / ?uploadId (multipart), ?restore, ?select
        action = "RestoreObject" if "restore" in q else "GetObject" if "select" in q else "PutObject"
    pairs = [(f"s3:{action}", arn)]
    if method == "PUT" and (source := headers.get("x-amz-copy-source")):  # CopyObject, UploadPartCopy
        path, _, source_query = source.partition("?")
        pairs.append(("s3:GetObjectVersion" if "versionId=" in source_query else "s3:GetObject",
                      f"arn:aws:s3:::{unquote(path).lstrip('/')}"))
    if method == "PUT" and "uploadId" not in q:  # AWS asks for these when PutObject sets an ACL or tags
        if any(name.lower() == "x-amz-acl" or name.lower().startswith("x-amz-grant-") for name in headers):
            pairs.append(("s3:PutObjectAcl", arn))
        if "x-amz-tagging" in headers:
            pairs.append(("s3:PutObjectTagging", arn))
    return pairs


def _s3_bucket(c: _Call, arn: str) -> Pairs | None:
    q, method = c.query, c.req.method
    if method == "POST" and "delete" in q:  # DeleteObjects: each object as its own DeleteObject[Version]
        objects = re.findall(r"<Object>(.*?)</Object>", c.req.body.decode("utf-8", "replace"), re.S)
        keys = [(re.search(r"<Key>(.*?)</Key>", obj, re.S), "<VersionId>" in obj) for obj in objects]
        return [("s3:DeleteObjectVersion" if versioned else "s3:DeleteObject", f"{arn}/{html.unescape(key[1])}")
                for key, versioned in keys if key] or None
    sub = next((k for k in q if k in _BUCKET_SUB or (q[k] == "" and k not in _LIST_PARAMS)), None)
    if sub is None:
        action = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(
            method)
    elif method in _VERB:
        index, verb = _VERB[method]
        action = _BUCKET_SUB.get(sub, (None, None, None))[index] or \
            verb + "Bucket" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[-_]", sub))
    else:
        action = None
    return [(f"s3:{action}", arn)] if action else None


def _s3(c: _Call) -> Pairs | None:
    """Path-style `/<bucket>/<key>`, or virtual-hosted `<bucket>.s3[.-]...` / `<bucket>.localhost` Hosts."""
    path = c.req.path.partition("?")[0]
    if host_match := _S3_VIRTUAL_HOST.fullmatch(c.req.headers.get("Host", "")):
        bucket, key = host_match[1], path[1:]
    else:
        bucket, _, key = path[1:].partition("/")
    bucket, key = unquote(bucket), unquote(key)
    if not bucket:
        return [("s3:ListAllMyBuckets", "*")] if c.req.method == "GET" else None
    return _s3_object(c, f"arn:aws:s3:::{bucket}/{key}") if key else _s3_bucket(c, f"arn:aws:s3:::{bucket}")


def _sts(c: _Call) -> Pairs | None:
    return [] if c.op == "GetCallerIdentity" else None


_HANDLERS: dict[str, Callable[[_Call], Pairs | None]] = {
    "dynamodb": _dynamodb, "states": _states, "secretsmanager": _secretsmanager, "events": _events,
    "lambda": _lambda, "s3": _s3, "sts": _sts,
}


def requested(req: WireRequest, *, account: str, region: str,
              secret_arn: Callable[[str], str | None]) -> list[tuple[str, str]]:
    """The (action, resource ARN) pairs AWS would authorize for this request, deduplicated, in request order.
    Unrecognised or malformed calls ask for `<service>:<Operation or METHOD>` on `*` (service `unknown` when
    unsigned). `secret_arn` maps a secret name or (partial) ARN to its full ARN, None when there is no such secret."""
    service = service_of(req) or "unknown"
    query = dict(parse_qsl(req.query, keep_blank_values=True))
    call = _Call(req, _operation(req, query), _json(req.body) if "X-Amz-Target" in req.headers else {}, query,
                 account, region, secret_arn)
    handler = _HANDLERS.get(service)
    pairs: Pairs | None = None
    if handler is not None and (call.op or service in ("s3", "lambda")):
        try:
            pairs = handler(call)
        except (KeyError, TypeError, AttributeError, ValueError):
            pairs = None
    if pairs is None:
        pairs = [(f"{service}:{call.op or req.method}", "*")]
    return list(dict.fromkeys(pairs))
