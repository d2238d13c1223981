"""A research session: its state and turns, the loop over them, dispatching tool calls,
the transcript, and starting, resuming, replaying and running sessions in the background."""
