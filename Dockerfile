# The demo traffic generator for `docker compose --profile demo up`: the hypertool_agent
# library and the `hypertool` command (its dependencies come along), running `demo --loop`.
ARG PYTHON_IMAGE=python:3.11.14-slim
FROM ${PYTHON_IMAGE}
WORKDIR /app
COPY packages ./packages
RUN pip install --no-cache-dir ./packages/agent ./packages/tools \
    && useradd --system --uid 10001 hypertool
USER hypertool
ENTRYPOINT ["hypertool", "demo"]
CMD ["--loop", "5", "--stage-seconds", "1"]
