"""The engine: discover -> load -> execute -> test -> score (reports live in grader.report)."""
