"""Data sources behind one interface: the catalog of names, the registry that builds them,
and each source in a module of its own."""
