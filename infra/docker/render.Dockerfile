# The container image of the toolkit_render function. infra/image.py stages its build context (this file as
# Dockerfile, bin/, deps/, code/) at synth; `cdk deploy` builds it for linux/amd64 and pushes it to the
# bootstrap stack's ECR repository, so the deploy host needs Docker.
# Base: AWS's Lambda Python 3.12 image (Amazon Linux 2023, glibc 2.34, which the ffmpeg build needs), pinned
# to a dated release of its x86_64 variant; docs/decisions.md says how to move it (and pin its digest).
FROM public.ecr.aws/lambda/python:3.12.2026.10.03.13-x86_64

# Largest and least changing first: FFmpeg (at /opt/bin, REELGATE_FFMPEG_DIR), then requirements/render.txt,
# then the handler and the common package, all importable from the task root.
COPY bin/ /opt/bin/
COPY deps/ ${LAMBDA_TASK_ROOT}/
COPY code/ ${LAMBDA_TASK_ROOT}/

CMD ["handler.handler"]
