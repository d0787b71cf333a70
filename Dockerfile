# Production image: gunicorn web, Celery worker and Celery beat all run from it (see docker-compose.yml).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml constraints.txt README.md ./
COPY povertycase ./povertycase
COPY households ./households
COPY villages ./villages
COPY assistance ./assistance
COPY assessments ./assessments
RUN pip install --no-cache-dir -c constraints.txt .
COPY . .
RUN DEBUG=true python manage.py collectstatic --noinput -v0
RUN useradd --create-home app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "povertycase.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--timeout", "120"]
