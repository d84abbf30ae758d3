# syntax=docker/dockerfile:1
# The bot's container: `bakery socket` on ECS Fargate (infra/cloudformation/bot.yaml).
# Two stages: the first builds wheels for the bot and every dependency of the lock (uv.lock), the second installs
# them into a clean slim image that has no compiler, no pip cache and no source tree, and writes its SBOM.
#
# Base: python 3.12.8, Debian bookworm slim, pinned by tag and by digest, so a rebuild gets the same
# base until someone moves both on purpose. The digest is the one published for this tag (it was not
# fetched from the registry on the machine that wrote this file): check it with
# `docker buildx imagetools inspect python:3.12.8-slim-bookworm` when bumping.
ARG PYTHON_IMAGE=python:3.12.8-slim-bookworm@sha256:2199a62885a12290dc9c5be3ca0681d367576ab7bf037da120e564723292a2f0

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    UV_NO_CONFIG=1
WORKDIR /src
# Every package below comes from a lock with hashes (README, "Supply chain"): uv from locks/uv.txt, only to
# export uv.lock; the build backend from locks/build.txt; the runtime set and the SBOM tool from uv.lock.
COPY locks/uv.txt locks/build.txt ./locks/
RUN python -m pip install --no-cache-dir --no-deps --require-hashes --target /opt/uv -r locks/uv.txt \
 && python -m pip install --no-cache-dir --no-deps --require-hashes -r locks/build.txt
# Only what the wheel build reads (.dockerignore keeps everything else out of the context).
COPY pyproject.toml uv.lock README.md ./
COPY bot ./bot
COPY handlers ./handlers
# The runtime set (no extras, no groups) and the SBOM tool (group supply), each with every distribution's hash;
# binary wheels only (cryptography and PyYAML have them for linux), so no compiler is needed here either. The
# bot's own wheel is built here from the context with the locked setuptools, without build isolation.
RUN /opt/uv/bin/uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /wheels/requirements.txt \
 && /opt/uv/bin/uv export --frozen --only-group supply --no-emit-project --format requirements-txt -o /tmp/sbom-tool.txt \
 && python -m pip wheel --no-cache-dir --require-hashes --only-binary :all: --wheel-dir /wheels -r /wheels/requirements.txt \
 && python -m pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels . \
 && python -m venv /opt/cyclonedx \
 && /opt/cyclonedx/bin/pip install --no-cache-dir --require-hashes --only-binary :all: -r /tmp/sbom-tool.txt

FROM ${PYTHON_IMAGE} AS runtime
# No .pyc writes at run time (the root filesystem is read-only on ECS; pip compiled them at install),
# unbuffered logs, and GitPython may load without a git binary: the image serves codecommit://
# repositories through the CodeCommit API; git itself (and perl) would add about 100 MB.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    GIT_PYTHON_REFRESH=quiet \
    BAKERY_WORKDIR=/var/lib/bakery/work
# The directories that bot.yaml mounts as (empty) bind volumes are made here, owned by the bot's user:
# /var/lib/bakery (the config file and the work directory) and /tmp.
RUN groupadd --system --gid 10001 bakery \
    && useradd --system --uid 10001 --gid bakery --home-dir /var/lib/bakery --shell /usr/sbin/nologin bakery \
    && install -d -o bakery -g bakery -m 0700 /var/lib/bakery /var/lib/bakery/work /tmp
# Installed from the build stage's wheels through a bind mount, so the wheels never become a layer: the locked set
# checked against its hashes again, then the bot's wheel without dependencies (it has none left to bring).
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m pip install --no-cache-dir --no-index --find-links=/wheels --require-hashes -r /wheels/requirements.txt \
 && python -m pip install --no-cache-dir --no-index --no-deps /wheels/ami_bakery-*.whl
# The image's bill of materials: a CycloneDX SBOM of the environment the bot runs in (every Python package of the
# image, the bot included), written by cyclonedx-py from the build stage's venv, which never becomes a layer.
# Read it with `docker run --rm --entrypoint cat IMAGE /usr/share/doc/ami-bakery/sbom.cdx.json`.
RUN --mount=type=bind,from=build,source=/opt/cyclonedx,target=/opt/cyclonedx \
    install -d -m 0755 /usr/share/doc/ami-bakery \
 && /opt/cyclonedx/bin/cyclonedx-py environment --mc-type application --output-reproducible --output-format JSON \
      --output-file /usr/share/doc/ami-bakery/sbom.cdx.json /usr/local/bin/python
# Fargate creates a task's bind volume owned by root with mode 0755, which uid 10001 cannot write,
# unless the image declares a VOLUME at the same path: then ECS copies that directory, its owner and
# mode included, into the volume (ECS developer guide, "Bind mounts"). So these paths must equal
# bot.yaml's MountPoints, and nothing may change them after this line (a build discards it).
VOLUME ["/var/lib/bakery", "/tmp"]
USER 10001:10001
WORKDIR /var/lib/bakery
# No HEALTHCHECK: in Socket Mode the bot has no port to probe, the Slack client reconnects by itself,
# and a fatal error ends the process, which ECS already sees and replaces. (`bakery serve` users can
# probe GET /healthz from their load balancer.)
ENTRYPOINT ["bakery"]
CMD ["socket"]
