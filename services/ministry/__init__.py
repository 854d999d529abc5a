"""The ministry service: change-feed subscribers, their replicas, and answers given from them."""

from services.ministry.cache import ask
from services.ministry.ministry import Ministry
from services.ministry.replica import CitizenReplica

__all__ = ["CitizenReplica", "Ministry", "ask"]
