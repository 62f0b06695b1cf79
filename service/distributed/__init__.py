"""The distributed mode: API processes enqueue jobs on a Celery broker; GPU workers run them (docs/deploy.md)."""
