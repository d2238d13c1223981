"""Reports people look at: HTML pages with their PNG figures, and how numbers read."""
