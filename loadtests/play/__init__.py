"""Playing the load: the open-model driver, one player per flow, and what it watches."""
