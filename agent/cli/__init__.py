"""The `mltrainer` command line: `app` builds it from one module per command (or noun).

The entry point is `mltrainer.agent.cli.app:main`."""
