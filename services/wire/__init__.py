"""The wire contract: messages, their Avro codec, the routing table, timestamps and size bounds."""
