"""The Streamlit UI (`mltrainer ui`): Chat, Trials and Sessions pages over the same sessions,
tools and ledger as the CLI. Pages only lay out what the engine and the session runner give
them; `app.py` is the entry point Streamlit runs."""
