"""Analysis CLI of the LLM experiments: collect / generate."""
