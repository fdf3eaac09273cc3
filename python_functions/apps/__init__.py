"""One module per app with an AI route: its router, prompt and output model (workouts has
none: its rules are all in SQL)."""
