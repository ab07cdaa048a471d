# The demo traffic generator for `docker compose --profile demo up`: hypertool_agent and
# its `hypertool demo --loop`, nothing else.
ARG PYTHON_IMAGE=python:3.11.14-slim
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent ./agent
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 hypertool
USER hypertool
ENTRYPOINT ["hypertool", "demo"]
CMD ["--loop", "5", "--stage-seconds", "1"]
