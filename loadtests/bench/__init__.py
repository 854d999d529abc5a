"""`make bench`: the raw Kafka ceiling, then verifications/s in rate steps, CPU per request."""
