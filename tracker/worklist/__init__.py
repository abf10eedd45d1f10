"""The worklist area."""
