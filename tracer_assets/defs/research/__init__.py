"""Research domain: placebos and the leak check (issue 12)."""
