# quickphrase sidecar: model, phrase library and dictionaries are baked into the image.
# Install steps are the README's: a virtual environment and `pip install .`,
# with a C compiler for the compiled parts, removed again in the same layer.
#   docker build -t quickphrase .
#   docker run -p 8000:8000 -e QUICKPHRASE_API_KEY=change-me -v qp-data:/data quickphrase
# Off loopback the sidecar refuses to start without an API key.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 quickphrase
WORKDIR /app
COPY pyproject.toml setup.py README.md ./
COPY quickphrase ./quickphrase
COPY model ./model
COPY training ./training
COPY phrases ./phrases
COPY service ./service
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && python3 -m venv /opt/venv && /opt/venv/bin/pip install -q . \
    && /opt/venv/bin/python -c "from quickphrase.model import features, segment; from quickphrase.service.batch import blocks; assert features.NATIVE_AVAILABLE and segment.NATIVE_AVAILABLE and blocks.count_csv_records" \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/*

RUN mkdir /data && chown quickphrase /data
VOLUME /data

USER quickphrase
ENV PATH="/opt/venv/bin:$PATH" \
    QUICKPHRASE_DB=/data/feedback.sqlite3 \
    QUICKPHRASE_PORT=8000
# jieba caches its dictionary under the temp dir; keep it writable for the user.
ENV TMPDIR=/tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["quickphrase"]
CMD ["serve", "--host", "0.0.0.0"]
