"""Data sources behind one interface: the catalog of names, the registry that builds them, and
each source in a module of its own. Importing anything from here registers the built-in sources
first, so the catalog is never read without them."""

from mltrainer.engine.data.built_in import register_built_in_sources

register_built_in_sources()
