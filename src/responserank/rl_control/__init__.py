"""RL-control experiments (runs made with an external codebase): result formats and analysis."""
