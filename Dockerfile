# Scripter's own image: the UI is built in one stage, the Python app installed into a
# virtual environment in another, and only the results are copied into the last one.
#
#   docker build -t scripter .                      # what compose.yml does
#
# Build arguments:
#   PYTHON_IMAGE     base of the app (Debian-based, python3 with venv)  python:3.12-slim
#   NODE_IMAGE       base of the UI build (Node.js 20.19+ or 22.12+)    node:22-slim
#   UI_FROM          build: npm ci && npm run build in NODE_IMAGE        build
#                    context: use the ui/dist already built in the build context (`make ui`),
#                    for machines where NODE_IMAGE has no usable Node.js
#   EXTRA_CA_CERTS   PEM text of CA certificates pip must trust besides the base image's
#                    (a TLS-intercepting proxy); *.crt and *.pem files put into
#                    deploy/ca-certificates/ are added too. Used by the install stage
#                    only: the final image does not keep them.
#
# Only Dockerfile syntax the classic builder knows (no `# syntax=`, no RUN --mount), so
# it builds with and without BuildKit and with the docker SDK. The classic builder runs
# every stage, so with UI_FROM=context the UI stage still starts from NODE_IMAGE but
# runs no npm: pass any local image as NODE_IMAGE then (e.g. the PYTHON_IMAGE).
#
# The processes run as the user `scripter` (uid 10001). The entry point starts as root
# only to create the data folders, give `scripter` the group of the Docker socket
# (whatever its number on the host) and drop to it; see deploy/entrypoint.sh.

ARG PYTHON_IMAGE=python:3.12-slim
ARG NODE_IMAGE=node:22-slim

# --- the browser UI ---------------------------------------------------------------
FROM ${NODE_IMAGE} AS ui
ARG UI_FROM=build
WORKDIR /ui
COPY ui/package.json ui/package-lock.json ./
RUN if [ "$UI_FROM" = build ]; then npm ci --no-audit --no-fund --loglevel=error; fi
COPY ui/ ./
RUN set -eu; \
    case "$UI_FROM" in \
      build) npm run build ;; \
      context) test -f dist/index.html \
          || { echo "UI_FROM=context needs ui/dist in the build context: run 'make ui' first" >&2; exit 1; } ;; \
      *) echo "UI_FROM must be build or context (got '$UI_FROM')" >&2; exit 1 ;; \
    esac

# --- the Python app in a virtual environment ----------------------------------------
FROM ${PYTHON_IMAGE} AS app-build
ARG EXTRA_CA_CERTS=""
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PIP_CERT=/tmp/ca-bundle.pem
COPY deploy/ca-certificates/ /tmp/extra-ca/
RUN set -eu; \
    python3 -m venv /opt/scripter/venv; \
    if [ -s /etc/ssl/certs/ca-certificates.crt ]; then \
      cat /etc/ssl/certs/ca-certificates.crt; \
    else \
      cat "$(/opt/scripter/venv/bin/python -c 'import pip._vendor.certifi as c; print(c.where())')"; \
    fi > /tmp/ca-bundle.pem; \
    find /tmp/extra-ca -type f \( -name '*.crt' -o -name '*.pem' \) -exec cat {} + >> /tmp/ca-bundle.pem; \
    printf '%s\n' "$EXTRA_CA_CERTS" >> /tmp/ca-bundle.pem
# The dependencies first, from pyproject.toml alone: a change of the code reuses them.
# Setuptools goes into the venv once (no isolated build environment per install) and
# leaves it with pip at the end; so do the C sources that some wheels carry.
COPY pyproject.toml README.md /src/
RUN set -eu; \
    /opt/scripter/venv/bin/pip install --quiet "setuptools>=69"; \
    mkdir -p /src/scripter; touch /src/scripter/__init__.py; \
    /opt/scripter/venv/bin/pip install --quiet --no-build-isolation /src; \
    /opt/scripter/venv/bin/pip uninstall --quiet --yes scripter; \
    rm -rf /src/scripter /src/build /src/*.egg-info
COPY scripter/ /src/scripter/
RUN set -eu; \
    /opt/scripter/venv/bin/pip install --quiet --no-deps --no-build-isolation /src; \
    /opt/scripter/venv/bin/pip uninstall --quiet --yes setuptools pip; \
    find /opt/scripter/venv -type f \( -name '*.c' -o -name '*.pyx' -o -name '*.pxd' \) -delete; \
    /opt/scripter/venv/bin/python -c 'import scripter.cli'

# --- the image ----------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# openssl makes the self-signed certificate (`scripter-entrypoint init`); Debian's
# ca-certificates depends on it, so it is usually there already.
RUN set -eu; \
    if ! command -v openssl >/dev/null; then \
      apt-get update; \
      apt-get install -y --no-install-recommends openssl; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    useradd --uid 10001 --user-group --home-dir /var/lib/scripter \
      --create-home --shell /usr/sbin/nologin scripter
COPY --from=app-build /opt/scripter/venv /opt/scripter/venv
COPY --from=ui /ui/dist /opt/scripter/ui
COPY deploy/entrypoint.sh /usr/local/bin/scripter-entrypoint
ENV PATH=/opt/scripter/venv/bin:$PATH \
    HOME=/var/lib/scripter \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SCRIPTER_SERVER_HOST=0.0.0.0 \
    SCRIPTER_SERVER_UI_DIRECTORY=/opt/scripter/ui
WORKDIR /var/lib/scripter
EXPOSE 8000
LABEL org.opencontainers.image.title="Scripter" \
      org.opencontainers.image.description="Run Python scripts in Docker, now or on a cron schedule."
# Through sh: works even where a checkout lost the file's executable bit.
ENTRYPOINT ["/bin/sh", "/usr/local/bin/scripter-entrypoint"]
CMD ["scripter", "serve"]
