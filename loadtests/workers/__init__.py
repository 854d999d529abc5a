"""Load workers: a coordinator and its workers share a run through Kafka's group protocol."""
