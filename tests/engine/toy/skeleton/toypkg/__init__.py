"""toypkg: a two-function package used only to test the grading engine."""
