# Time Machine service image: the `timemachine` package (API, worker, beat) plus Foundry's anvil.
# Build: docker build -t timemachine .   Run: see docker-compose.yml and docs/service.md.

# anvil comes from the npm registry, pinned in package.json / package-lock.json (a native binary).
FROM node:20-bookworm-slim AS anvil
WORKDIR /tools
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund \
 && cp node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil /tools/anvil

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TIME_MACHINE_DATA_DIR=/data \
    TIME_MACHINE_HOST=0.0.0.0 \
    TIME_MACHINE_PORT=8000 \
    ANVIL_PATH=/usr/local/bin/anvil
COPY --from=anvil /tools/anvil /usr/local/bin/anvil
WORKDIR /srv/timemachine
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install '.[service]' \
 && useradd --create-home --uid 10001 timemachine \
 && mkdir -p /data /srv/shared/data \
 && chown timemachine /data
# The incident catalog CSV is third-party data, not part of the image: mount it at
# /srv/shared/data/defihacklabs_incidents.csv (../shared/data beside the working directory).
USER timemachine
VOLUME ["/data"]
EXPOSE 8000
CMD ["timemachine", "serve", "--api-only"]
