"""Bad inputs: name clashes, unusable key dtypes and one rule per kind of input."""
