"""Requesting agencies: their clients, pending requests and the hosts that run many of them."""
