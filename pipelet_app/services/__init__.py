"""The application layer: one module per use-case area; each function takes a principal and a DB session,
checks role and ownership itself, and returns plain data. API routes and portal states both call it."""
