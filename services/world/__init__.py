"""The simulated world: a procedural population, its reference data and who takes part."""
