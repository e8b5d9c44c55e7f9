"""Analysis CLI of the synthetic experiments: find / collect / generate."""
