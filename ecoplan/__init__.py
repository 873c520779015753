"""ecoplan's side that talks to people: the `ecoplan` CLI, the client API under it, the
supervisor views, the 12369/119 intake service, and the connection settings they share."""
