"""The `ndxsim` command's parts: shared options and errors, the stack commands and the studies."""
