"""Staff tools: the problem registry, the grader and the starter-release builder."""
