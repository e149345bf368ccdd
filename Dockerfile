# One image for every vkpipe service (workers, beat, flower, health, api, migrations, emulator).
FROM python:3.11-slim

# Bytecode compiled at build time: the code is read-only at run time, and `vkpipe` starts in
# a fraction of a second only with compiled modules.
ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first, from the lock file, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
# The directories compose.yaml mounts volumes on, owned by the user the services run as: a
# named volume starts as a copy of the image's directory, ownership included.
RUN uv sync --frozen --no-dev \
    && python -m compileall -q parser_pipeline workers migrations celeryconfig.py beat_schedule.py \
    && useradd --uid 10001 --create-home vkpipe \
    && mkdir -p /var/lib/vkpipe/metrics /var/lib/vkpipe/exports /var/lib/vkpipe/beat \
                /var/lib/vkpipe/flower \
    && chown -R vkpipe /var/lib/vkpipe
USER vkpipe
