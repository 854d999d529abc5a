"""The provinces' agencies: every province of the topology as a requester in one process."""
