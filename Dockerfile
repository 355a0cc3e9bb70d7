# disparo's one image: `serve` (the API, the default), `worker`, `migrate`, `dev`, and every
# other `disparo` command. Build: podman build -t disparo . (or docker build).
#
# Stage 1 installs the hashed lock into a venv and builds disparo into it; stage 2 copies
# only that venv onto a clean base. No tests, no build tools, no pip, no secrets.

FROM python:3.11-slim-bookworm AS build
# For builders behind a TLS-inspecting proxy or with a private index: both optional and
# only seen by this stage's pip (build args of a discarded stage never reach the image).
ARG PIP_CERT=""
ARG PIP_INDEX_URL=""
WORKDIR /src
RUN python3 -m venv /opt/venv
COPY requirements.lock ./
RUN [ -n "$PIP_CERT" ] || unset PIP_CERT; [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --quiet \
      --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY src ./src
# Non-editable, no isolated build env: setuptools and wheel come from the lock above and
# are removed afterwards with pip itself.
RUN /opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check --quiet \
      --no-deps --no-build-isolation . \
 && /opt/venv/bin/pip uninstall --quiet --yes setuptools wheel \
 && /opt/venv/bin/python -m pip uninstall --quiet --yes pip \
 && find /opt/venv -name __pycache__ -prune -exec rm -rf {} + \
 && /opt/venv/bin/python -m compileall -q /opt/venv/lib

FROM python:3.11-slim-bookworm
# The git revision is added at build time (`--label org.opencontainers.image.revision=…`,
# as scripts/build-image.sh does): a build arg would make podman rebuild every layer.
LABEL org.opencontainers.image.title="disparo" \
      org.opencontainers.image.description="Campaign dispatcher for the WordPress campaign panel (CDA, GOSAC, NOAH, RCS, Salesforce)" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.revision="unknown" \
      org.opencontainers.image.base.name="python:3.11-slim-bookworm"
RUN groupadd --system --gid 10001 disparo \
 && useradd --system --uid 10001 --gid disparo --home-dir /var/lib/disparo --create-home \
      --shell /usr/sbin/nologin disparo
COPY --from=build /opt/venv /opt/venv
# Production is the default mode of serve/worker; compose and operators set the rest.
# DATA_DIR is where `disparo dev` keeps its SQLite file and embedded Redis.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DISPARO_DATA_DIR=/var/lib/disparo \
    DISPARO_LOG_FORMAT=json
WORKDIR /var/lib/disparo
USER 10001:10001
EXPOSE 8000
# The API's liveness route; a worker container overrides this (see deploy/compose.yaml).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('DISPARO_HEALTH_PORT', '8000') + '/health', timeout=4)"]
ENTRYPOINT ["disparo"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
