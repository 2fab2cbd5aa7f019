"""CloudFront's signed-URL check in front of the emulated bucket, on a port of its own as the stage's
distribution is a domain of its own: `GET http://127.0.0.1:<port>/<key>?Expires=..&Signature=..&Key-Pair-Id=..`
as `https://<domain>/<key>?...`.

Like CloudFront with a trusted key group: a request without the three parameters, with another key pair
id, an `Expires` not in the future or a signature the public key does not verify over the canned policy
of the very URL requested gets 403. Like its origin access control and bucket policy: only objects under
the output prefixes are read; anything else (missing objects too: no ListBucket) is 403.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote

from botocore.exceptions import ClientError
from botocore.signers import CloudFrontSigner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from reelgate.links import OUTPUT_PREFIXES
from werkzeug.wrappers import Request, Response

from infra.local.simulators._server import SimServer

SIGNING_PARAMETERS = ("Expires", "Signature", "Key-Pair-Id")
_DENIED = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
           "</Error>")


class LocalCdn:
    def __init__(self, s3: Any, bucket: str, key_pair_id: str, public_key_pem: str,
                 clock: Callable[[], float] = time.time) -> None:
        key = load_pem_public_key(public_key_pem.encode())
        if not isinstance(key, rsa.RSAPublicKey):
            raise ValueError("the CDN's public key must be RSA")
        self._s3, self._bucket, self._key_pair_id, self._key, self._clock = s3, bucket, key_pair_id, key, clock

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.answer(Request(environ))(environ, start_response)

    def serve(self, host: str, port: int = 0) -> SimServer:
        """This stand-in on host:port (0: a free port), started; its root_url is the distribution's URL."""
        server = SimServer(self, host, port)
        server.start()
        return server

    def answer(self, request: Request) -> Response:
        if (refused := self._refusal(request)) is not None:
            return refused
        key = unquote(request.path.removeprefix("/"))
        if not key.startswith(OUTPUT_PREFIXES):
            return _denied("AccessDenied", "Access Denied")  # the bucket policy's answer
        try:
            got = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError:
            return _denied("AccessDenied", "Access Denied")
        body = got["Body"].read()
        response = Response(b"" if request.method == "HEAD" else body, status=200,
                            content_type=got.get("ContentType") or "binary/octet-stream")
        response.headers["Content-Length"] = str(len(body))
        response.headers["X-Cache"] = "Miss from cloudfront"
        return response

    def _refusal(self, request: Request) -> Response | None:
        """CloudFront's own 403s: the method, the signing parameters, the key pair, the expiry, the signature."""
        if request.method not in ("GET", "HEAD"):
            return _denied("MethodNotAllowed", "This distribution only allows GET and HEAD")
        expires, signature, pair = (request.args.get(name) for name in SIGNING_PARAMETERS)
        if not (expires and signature and pair):
            return _denied("MissingKey", "Missing Key-Pair-Id query parameter or cookie value")
        if pair != self._key_pair_id:
            return _denied("InvalidKey", "Unknown Key")
        if not expires.isdigit() or int(expires) <= self._clock() or not self._verified(request, expires, signature):
            return _denied("AccessDenied", "Access denied")
        return None

    def _verified(self, request: Request, expires: str, signature: str) -> bool:
        policy = CloudFrontSigner(self._key_pair_id, None).build_policy(
            resource_url(request), datetime.fromtimestamp(int(expires), UTC))
        try:
            raw = base64.b64decode(signature.replace("-", "+").replace("_", "=").replace("~", "/"), validate=True)
            self._key.verify(raw, policy.encode(), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront's
        except (InvalidSignature, ValueError):
            return False
        return True


def resource_url(request: Request) -> str:
    """The URL as requested (path bytes as sent), without the signing parameters: what the policy names."""
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
              or f"{quote(request.path)}?{request.query_string.decode()}")
    path, _, query = raw.partition("?")
    kept = [item for item in query.split("&") if item and item.split("=", 1)[0] not in SIGNING_PARAMETERS]
    return f"{request.scheme}://{request.host}{path}" + (f"?{'&'.join(kept)}" if kept else "")


def _denied(code: str, message: str) -> Response:
    return Response(_DENIED.format(code=code, message=message), status=403, content_type="text/xml")
