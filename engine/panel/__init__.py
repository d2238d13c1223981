"""A universe of stocks as one panel (dates x stocks): its features, normalised across stocks per
date, the rows a pooled model sees, and the portfolios a ranking trades."""
