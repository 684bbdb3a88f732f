# fnurl: AWS Lambda function URLs on localhost. See README.md and compose.yaml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FNURL_PORT=9000 \
    FNURL_STATE_DIR=/home/fnurl/state

WORKDIR /opt/fnurl
COPY pyproject.toml README.md ./
COPY src ./src
COPY docker/healthcheck.py /opt/fnurl/healthcheck.py

RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 fnurl \
    && mkdir -p /project /home/fnurl/state \
    && chown fnurl:fnurl /project /home/fnurl/state

USER 10001:10001
WORKDIR /project
EXPOSE 9000

HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "/opt/fnurl/healthcheck.py"]

# The same command the integration tests run (tests/test_image.py reads it from here).
CMD ["fnurl", "serve", "--host", "0.0.0.0"]
