# baocao daemon image. Build with either engine (Podman needs --format docker, or its
# default OCI format drops the HEALTHCHECK below):
#   docker build -t baocao .
#   podman build --format docker -t baocao .
# Run: README.md, "Container" — config read-only at /etc/baocao/config.toml, data in the
# /data volume (owned by uid/gid 10001), passwords as secret files (password_file).

# The base image, pinned by digest: the multi-platform index of
# python:3.11-slim-bookworm (Python 3.11.16). To move to a newer one, read the digest with
#   docker buildx imagetools inspect python:3.11-slim-bookworm
# (or `skopeo inspect docker://docker.io/library/python:3.11-slim-bookworm`) and replace it.
ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# --- build stage: the virtualenv is made here ----------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
# Third-party packages: exactly the runtime lock, every file checked against its hash,
# published wheels only (nothing compiled here). The build backend likewise, in its own
# venv. This layer changes only with the lock files.
COPY requirements.lock requirements-build.lock ./
RUN python -m venv /opt/baocao \
 && /opt/baocao/bin/pip install --require-hashes --only-binary :all: -r requirements.lock \
 && python -m venv /opt/build \
 && /opt/build/bin/pip install --require-hashes --only-binary :all: -r requirements-build.lock
COPY pyproject.toml README.md ./
COPY parsers ./parsers
COPY storage ./storage
COPY service ./service
COPY templates ./templates
# The project's own wheel, built with the pinned backend and installed without
# dependencies (they are all above); then pip and setuptools leave the virtualenv.
RUN /opt/build/bin/pip wheel --no-deps --no-build-isolation --wheel-dir /wheels . \
 && /opt/baocao/bin/pip install --no-deps --no-index /wheels/baocao-*.whl \
 && /opt/baocao/bin/python -m pip uninstall --yes pip setuptools

# --- runtime stage: no installer, non-root -------------------------------------------------
FROM ${PYTHON_IMAGE}
# A fixed uid and gid (10001) so that a bind-mounted folder can be given to the service
# with `chown -R 10001:10001`. Not --system: system ids end at 999 and useradd warns
# about 10001 as one; --no-log-init keeps a high uid from growing /var/log/lastlog. pip
# and setuptools of the base image go too: nothing is installed at run time.
# Tesseract and its Vietnamese, English and orientation models read scans and photos
# (parsers.ocr); the Python side (tesserocr's wheel) uses these system models.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      tesseract-ocr tesseract-ocr-vie tesseract-ocr-eng tesseract-ocr-osd \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 baocao \
 && useradd --uid 10001 --gid 10001 --no-log-init --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin baocao \
 && mkdir -p /data /etc/baocao \
 && chown 10001:10001 /data \
 && python -m pip uninstall --yes --disable-pip-version-check pip setuptools wheel \
 && rm -rf /root/.cache /usr/local/bin/pip*
COPY --from=build /opt/baocao /opt/baocao
ENV PATH=/opt/baocao/bin:$PATH \
    BAOCAO_CONFIG=/etc/baocao/config.toml \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD ["baocao", "health"]
# The daemon stops cleanly on SIGTERM (docker stop, podman stop).
CMD ["baocao", "run"]
