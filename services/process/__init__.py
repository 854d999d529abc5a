"""A service as a process: entry plumbing, run context, event loop, metrics and readiness."""
