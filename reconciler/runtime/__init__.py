"""The daemon's runtime: what a running `reconciler run` owns and shares between its HTTP
handlers (server/) and its scheduled jobs (jobs/) — the engine, the figures, the work under
way, the store confirmer and the schedule.

Rules: below server/ and jobs/, above engine/: it imports neither of them (jobs are handed to
the schedule as functions); handlers and jobs call the engine through it, never each other.
"""

from reconciler.runtime.state import Runtime as Runtime
from reconciler.runtime.state import open_runtime as open_runtime
