"""Local fake servers for the outside systems Pipelet talks to."""
