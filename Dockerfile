# dhis2sync: one image for the web process (gunicorn, the default command) and the worker
# (`python manage.py qcluster`). Build: docker build -t dhis2sync . ; run: see compose.yaml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home dhis2sync

# Dependencies first (their own layer, rebuilt only when pyproject.toml changes), straight from
# pyproject.toml's lists, plus the optional Redis client so REDIS_URL works without a rebuild.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['redis']))" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

COPY . .

# Hashed, compressed static files for WhiteNoise. Settings refuse to load without keys when
# DEBUG is off, so throwaway ones are given to this one command; they are not kept in the image.
RUN DEBUG=false \
    SECRET_KEY=collectstatic-only-not-a-secret \
    ENCRYPTION_KEYS="$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')" \
    python manage.py collectstatic --noinput

# The code stays root-owned and read-only to the service account: it writes only to the database.
USER dhis2sync
EXPOSE 8000

# Liveness of the web process (no database access). The worker's container overrides this
# with `python -m config.health` (see compose.yaml): it serves no HTTP.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["gunicorn", "--config", "deploy/gunicorn.conf.py", "config.wsgi"]
