"""The stack outputs an operator needs: the CDK stack writes them, `infra.admin --stack` reads them.

One output per Settings field that names a deployed resource (tables, bucket, bus, flows, secrets),
keyed by the field's name in PascalCase (`state_table` -> `StateTable`), so the admin command uses a
deployed stack's resources exactly as a function configured with them would. No CDK, no boto3.
"""

from __future__ import annotations

from infra.environment import FLOW_SETTING, RESOURCE_SETTING, SECRET_SETTING

OUTPUT_SETTINGS: tuple[str, ...] = (*RESOURCE_SETTING.values(), *FLOW_SETTING.values(), *SECRET_SETTING.values())
API_URL_OUTPUT = "ApiUrl"
CDN_URL_OUTPUT = "OutputsUrl"  # the distribution serving outputs (stages with output_delivery "cloudfront")


def output_key(setting: str) -> str:
    return "".join(part.title() for part in setting.split("_"))
