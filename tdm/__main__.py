"""``python -m tdm``: the same command as the ``tdm`` console script (``tdm.cli:run``)."""

from tdm.cli import run

if __name__ == "__main__":
    run()
