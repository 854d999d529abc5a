"""The consume -> handle -> publish loop of every service: window, rereads, dead letters."""
