"""The research tools over the Model Context Protocol (stdio and streamable HTTP)."""
