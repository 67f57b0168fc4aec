"""Research on top of the pipeline: walk-forward folds, selection in sample, overfitting statistics."""
