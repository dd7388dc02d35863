"""Vision task maths shared by the panels (no Qt): digit preprocessing (:mod:`.digits`), ..."""
