"""Orchestration, between the shells (API, Celery tasks) and the engine: what a replay session
does, where its chain comes from, how progress is reported. It knows neither FastAPI nor Celery.
"""
