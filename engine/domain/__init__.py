"""The pure core: definitions, the case and its fold, the ladder, rules and checks. No database, no wall clock,
no terminal: everything it needs is passed in, so each function answers the same for the same inputs."""
