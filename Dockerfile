# One image for every vkpipe service (workers, beat, flower, health, migrations, emulator).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.9"
WORKDIR /app
# Dependencies first, from the lock file, so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
RUN uv sync --frozen --no-dev && useradd --uid 10001 --create-home vkpipe \
    && mkdir -p /var/lib/vkpipe && chown vkpipe /var/lib/vkpipe
USER vkpipe
