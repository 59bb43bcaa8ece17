"""`python -m pipelet_app.cli.main` runs the same command as the `pipelet` script."""

from pipelet_app.cli import app

if __name__ == "__main__":
    app()
