"""One module per verb: each combines the pure core with the store and returns plain data.

Operations never print and never import typer; ``generator.cli`` presents what they return.
"""
