"""Walk-forward folds, governed parameters and the monthly governance report (issue 11)."""
