"""Task panels of the playground (each its own module): digits, ..."""
