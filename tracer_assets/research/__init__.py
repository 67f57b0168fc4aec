"""Research on the pipeline's own output: the signal strategy's returns, placebos, the leak check,
walk-forward folds with selection in sample, overfitting statistics and governed parameters."""
