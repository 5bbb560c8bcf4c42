"""Who may use PigWeight: users and roles, sessions, API tokens, signed media URLs."""
