"""The one door to Kafka: client protocols, the aiokafka transport and its in-memory twin, the
Admin API (users, ACLs, metadata, groups), and plain clients for the load side's control plane.
Only this package imports a Kafka client library; callers catch its errors (transport.py)."""
