# quickphrase: model, phrase library and dictionaries are baked into the image.
# Install steps are the README's: a virtual environment and `pip install .`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

RUN useradd --create-home --uid 10001 quickphrase
WORKDIR /app
COPY pyproject.toml README.md ./
COPY quickphrase ./quickphrase
COPY model ./model
COPY training ./training
COPY phrases ./phrases
COPY service ./service
RUN python3 -m venv /opt/venv && /opt/venv/bin/pip install -q .

USER quickphrase
ENV PATH="/opt/venv/bin:$PATH"
# jieba caches its dictionary under the temp dir; keep it writable for the user.
ENV TMPDIR=/tmp
ENTRYPOINT ["quickphrase"]
CMD ["suggest", "亲,能便宜点吗"]
