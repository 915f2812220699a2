"""Identity and access: users, projects, tokens."""
