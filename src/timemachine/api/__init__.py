"""The REST + WebSocket API (FastAPI). Thin: endpoints call the store, queue Celery tasks and
read the bus; the engine runs in the workers.

    from timemachine.api import create_app
    app = create_app()          # uvicorn timemachine.api.app:app, or `timemachine serve`
"""

from timemachine.api.app import create_app

__all__ = ["create_app"]
