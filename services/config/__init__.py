"""Configuration as typed data: settings from the environment, designs and the run configuration."""
