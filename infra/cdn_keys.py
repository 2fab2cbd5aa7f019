"""The output links' key pair (reelgate.links): made with `cryptography`, stored where the stack and the
functions look for it. `python -m infra.admin cdn-key STAGE` runs this against AWS; the local cloud
makes its own pair at every start."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from infra import environment

KEY_BITS = 2048  # CloudFront public keys: RSA 2048 (SHA-1 canned policies)


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def new_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private.decode(), public.decode())


def store_private_key(secrets: Any, name: str, pem: str, *, description: str) -> str:
    """Create the secret `name` holding `pem`, or give the existing one that new value; returns its ARN."""
    try:
        return str(secrets.create_secret(Name=name, SecretString=pem, Description=description)["ARN"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceExistsException":
            raise
    return str(secrets.put_secret_value(SecretId=name, SecretString=pem)["ARN"])


def create(secrets: Any, ssm: Any, stage: str, *, rotate: bool = False) -> dict[str, str]:
    """A new pair for `stage`: the private half in its secret, the public half in its SSM parameter.

    An existing pair is replaced only with `rotate`: links signed with the old key stop working once the
    next deploy puts the new public key in the distribution's key group.
    """
    secret, parameter = environment.cdn_secret_name(stage), environment.cdn_public_key_parameter(stage)
    if not rotate and _exists(ssm, parameter):
        raise ValueError(f"stage {stage} has a key pair already ({parameter}); pass --rotate to replace it")
    pair = new_key_pair()
    arn = store_private_key(secrets, secret, pair.private_pem,
                            description=f"Reelgate {stage}: private key that signs output links (CloudFront)")
    ssm.put_parameter(Name=parameter, Value=pair.public_pem, Type="String", Overwrite=True,
                      Description=f"Reelgate {stage}: public key of the output links (read at deploy)")
    return {"stage": stage, "private_key_secret": arn, "public_key_parameter": parameter,
            "next": f"make deploy STAGE={stage} (the distribution trusts the new public key from then on)"}


def _exists(ssm: Any, parameter: str) -> bool:
    try:
        ssm.get_parameter(Name=parameter)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return False
        raise
    return True
