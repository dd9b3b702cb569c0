"""spypkg: records what it is given (engine isolation tests only)."""
