"""One blueprint per area of the review app."""
