"""Scheduled jobs: thin functions of the daemon's Runtime that call the engine through it,
log a failure and let the schedule go on (runtime.schedule runs them)."""
