# baocao daemon image. Build: docker build -t baocao .
# Run:  docker run -d --name baocao \
#         -v /srv/baocao/config.toml:/etc/baocao/config.toml:ro \
#         -v baocao-data:/data -e BAOCAO_IMAP_PASSWORD=... baocao
# Set database_url / archive_dir under /data in the config so they survive upgrades.

# --- build stage: compilers allowed, wheels built here ---------------------------------
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY parsers ./parsers
COPY storage ./storage
COPY service ./service
COPY templates ./templates
# requirements.lock pins the whole tree (test tools included); as a constraint it
# fixes the versions of what the project needs without installing the test tools.
RUN pip wheel --no-cache-dir --wheel-dir /wheels --constraint requirements.lock . \
 && python -m venv /opt/baocao \
 && /opt/baocao/bin/pip install --no-cache-dir --no-index --find-links /wheels baocao

# --- runtime stage: no compilers, non-root ---------------------------------------------
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home baocao \
 && mkdir -p /data /etc/baocao \
 && chown baocao:baocao /data
COPY --from=build /opt/baocao /opt/baocao
ENV PATH=/opt/baocao/bin:$PATH \
    BAOCAO_CONFIG=/etc/baocao/config.toml \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER baocao
WORKDIR /data
VOLUME ["/data"]
HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 CMD ["baocao", "health"]
# The daemon stops cleanly on SIGTERM (docker stop).
CMD ["baocao", "run"]
