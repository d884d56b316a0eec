FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config config
COPY schemas schemas
COPY detectors detectors
COPY sinks sinks
COPY streams streams
COPY simulator simulator
COPY bench bench
RUN pip install --no-cache-dir .
EXPOSE 6066
CMD ["python", "-m", "streams", "worker"]
