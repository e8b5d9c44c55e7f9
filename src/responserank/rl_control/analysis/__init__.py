"""Analysis CLI of the RL-control experiments: collect / generate."""
