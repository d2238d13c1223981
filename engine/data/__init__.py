"""Data sources behind one interface."""
