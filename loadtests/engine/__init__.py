"""The run engine: one scenario run from file to report, and the studies made of several runs."""
