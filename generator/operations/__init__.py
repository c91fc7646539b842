"""One module per verb: each combines the pure core with the store and returns plain data.

Operations never print and never import typer; ``cli.py`` presents what they return.
"""
