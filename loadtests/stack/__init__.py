"""What a run plays on: the platform for one run, and the supervised local stack of `make up`."""
