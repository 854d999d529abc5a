"""The one door to Kafka: client protocols, the aiokafka transport and its in-memory twin."""
