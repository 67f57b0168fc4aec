"""Research on the pipeline's own output: the signal strategy's returns, placebos, the leak check."""
